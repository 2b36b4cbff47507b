/**
 * Users, sessions, personal API tokens and the audit log in the metadata store (migration 3).
 * Only hashes of session ids and tokens are stored. Every method is one statement or one
 * transaction; a change to users, sessions or tokens NOTIFYs `<schema>_access_changes`.
 */
import { randomUUID } from 'node:crypto';
import { type Queryable } from '../store/db';
import { UserError, invalidInput, notFound } from '../errors';
import { API_TOKEN_PREFIX, newSecretToken, sha256 } from './credentials';
import { decoyHash, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords';
import { isRole, type Principal, type Role, START_TOKEN_PRINCIPAL_ID } from './roles';

export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** How long a sign-in lasts (ms): 14 days, then the browser signs in again. */
export const SESSION_LIFETIME_MS = 14 * 24 * 3600 * 1000;

export interface UserView {
  name: string;
  role: Role;
  created_at: string;
}

export interface ApiTokenView {
  id: string;
  name: string;
  user: string;
  created_at: string;
  last_used_at: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

/** What a session or token check compares against: the start token this server accepts now, if any. */
export interface StartToken {
  /** sha256 of the token; null when the server has none (users exist and GRIMOIRE_TOKEN is unset). */
  hash: string | null;
  /** True when GRIMOIRE_TOKEN set it: it then works alongside users. */
  fixed: boolean;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));

function checkName(name: string): void {
  if (!USER_NAME_PATTERN.test(name)) throw invalidInput(`"${name.slice(0, 80)}" is not a valid user name (1-64 letters, digits, _ . @ -, starting with a letter or digit)`);
}

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw invalidInput(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > 1024) throw invalidInput('the password must have at most 1024 characters');
}

function roleOf(value: unknown): Role {
  if (!isRole(value)) throw new Error(`the users table holds an unknown role ${JSON.stringify(value)}`);
  return value;
}

export class AccessStore {
  constructor(private readonly db: Queryable) {}

  // ---- users ---------------------------------------------------------------------------------

  async userCount(): Promise<number> {
    const r = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM users');
    return Number(r.rows[0]?.n ?? 0);
  }

  async ownerCount(): Promise<number> {
    const r = await this.db.query<{ n: string }>("SELECT count(*) AS n FROM users WHERE role = 'owner'");
    return Number(r.rows[0]?.n ?? 0);
  }

  async listUsers(): Promise<UserView[]> {
    const r = await this.db.query<{ name: string; role: string; created_at: Date }>('SELECT name, role, created_at FROM users ORDER BY name');
    return r.rows.map((u) => ({ name: u.name, role: roleOf(u.role), created_at: iso(u.created_at) }));
  }

  /** The names of the users with these ids (users.id); ids of removed users are absent. */
  async userNames(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const r = await this.db.query<{ id: string; name: string }>('SELECT id, name FROM users WHERE id = ANY($1::text[])', [ids]);
    return new Map(r.rows.map((u) => [u.id, u.name]));
  }

  /** Adds a user; a taken name is a conflict; the first user must be an owner (invalid_input). */
  async addUser(name: string, role: Role, password: string): Promise<void> {
    checkName(name);
    checkPassword(password);
    // Without an owner nobody could manage users again, and the start token stops working once users exist.
    if (role !== 'owner' && (await this.ownerCount()) === 0) {
      throw invalidInput(`the first user must be an owner: add "${name}" with role owner (grimoire users add ${name} --role owner), then others`);
    }
    const hash = await hashPassword(password);
    const r = await this.db.query('INSERT INTO users (id, name, role, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING', [randomUUID(), name, role, hash]);
    if (r.rowCount === 0) throw new UserError('conflict', `user "${name}" already exists`);
  }

  /** Removes a user with their sessions and tokens (ON DELETE CASCADE): they are signed out at once. */
  async removeUser(name: string): Promise<void> {
    await this.refuseLastOwner(name, 'removed');
    const r = await this.db.query('DELETE FROM users WHERE name = $1', [name]);
    if (r.rowCount === 0) throw notFound(`user "${name}" not found`);
  }

  /** A new role ends the user's sessions at once (their next request signs in again). */
  async setRole(name: string, role: Role): Promise<void> {
    if (role !== 'owner') await this.refuseLastOwner(name, 'made a non-owner');
    const r = await this.db.query<{ id: string }>('UPDATE users SET role = $2, updated_at = now() WHERE name = $1 RETURNING id', [name, role]);
    const id = r.rows[0]?.id;
    if (!id) throw notFound(`user "${name}" not found`);
    await this.db.query('DELETE FROM sessions WHERE user_id = $1', [id]);
  }

  /** A new password ends the user's sessions too. */
  async setPassword(name: string, password: string): Promise<void> {
    checkPassword(password);
    const hash = await hashPassword(password);
    const r = await this.db.query<{ id: string }>('UPDATE users SET password_hash = $2, updated_at = now() WHERE name = $1 RETURNING id', [name, hash]);
    const id = r.rows[0]?.id;
    if (!id) throw notFound(`user "${name}" not found`);
    await this.db.query('DELETE FROM sessions WHERE user_id = $1', [id]);
  }

  private async refuseLastOwner(name: string, what: string): Promise<void> {
    const r = await this.db.query<{ role: string }>('SELECT role FROM users WHERE name = $1', [name]);
    if (r.rows[0]?.role === 'owner' && (await this.ownerCount()) === 1) {
      throw new UserError('conflict', `"${name}" is the last owner and cannot be ${what}: add another owner first`);
    }
  }

  /** The user for a name and password, or null; takes as long for an unknown name as for a wrong password. */
  async checkSignIn(name: string, password: string): Promise<{ id: string; name: string; role: Role } | null> {
    const r = await this.db.query<{ id: string; name: string; role: string; password_hash: string }>('SELECT id, name, role, password_hash FROM users WHERE name = $1', [name]);
    const user = r.rows[0];
    const ok = await verifyPassword(password, user?.password_hash ?? (await decoyHash()));
    return user && ok ? { id: user.id, name: user.name, role: roleOf(user.role) } : null;
  }

  // ---- sessions ------------------------------------------------------------------------------

  /** A new session for a user (or, with `userId` null, for the start token); returns the cookie value. */
  async createSession(userId: string | null, startTokenHash: string | null, now = new Date()): Promise<string> {
    const id = newSecretToken();
    await this.db.query('INSERT INTO sessions (id_hash, user_id, start_token_hash, expires_at) VALUES ($1, $2, $3, $4)', [
      sha256(id),
      userId,
      startTokenHash,
      new Date(now.getTime() + SESSION_LIFETIME_MS),
    ]);
    // Expired sessions are swept as new ones are made: the table never grows without bound.
    await this.db.query('DELETE FROM sessions WHERE expires_at < $1', [now]);
    return id;
  }

  async endSession(cookieValue: string): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE id_hash = $1', [sha256(cookieValue)]);
  }

  /**
   * Who a session cookie signs in, checked against the database on every call (so a removed
   * user, a changed role or a new start token ends it at once), or null.
   */
  async principalOfSession(cookieValue: string, start: StartToken, now = new Date()): Promise<Principal | null> {
    const idHash = sha256(cookieValue);
    const r = await this.db.query<{ user_id: string | null; start_token_hash: string | null; name: string | null; role: string | null; users: string }>(
      `SELECT s.user_id, s.start_token_hash, u.name, u.role, (SELECT count(*) FROM users) AS users
         FROM sessions s LEFT JOIN users u ON u.id = s.user_id
        WHERE s.id_hash = $1 AND s.expires_at > $2`,
      [idHash, now],
    );
    const row = r.rows[0];
    if (!row) return null;
    if (row.user_id === null) {
      const startAllowed = start.hash !== null && (start.fixed || Number(row.users) === 0);
      if (!startAllowed || row.start_token_hash !== start.hash) return null;
      return { kind: 'start_token', id: START_TOKEN_PRINCIPAL_ID, name: 'token', role: 'owner', via: 'session', credentialHash: idHash };
    }
    if (row.name === null || row.role === null) return null;
    return { kind: 'user', id: row.user_id, name: row.name, role: roleOf(row.role), via: 'session', credentialHash: idHash };
  }

  /** Whether the start token is accepted now: GRIMOIRE_TOKEN always, a random one only while there are no users. */
  async startTokenAccepted(start: StartToken): Promise<boolean> {
    if (start.hash === null) return false;
    return start.fixed || (await this.userCount()) === 0;
  }

  // ---- personal API tokens -------------------------------------------------------------------

  async createApiToken(userId: string, name: string): Promise<{ id: string; token: string }> {
    if (name.trim() === '' || name.length > 100) throw invalidInput('a token needs a name of 1-100 characters');
    const id = randomUUID();
    const token = newSecretToken(API_TOKEN_PREFIX);
    await this.db.query('INSERT INTO api_tokens (id, user_id, name, token_hash) VALUES ($1, $2, $3, $4)', [id, userId, name, sha256(token)]);
    return { id, token };
  }

  /** Tokens of one user, or of everyone (`userId` null, for owners). */
  async listApiTokens(userId: string | null): Promise<ApiTokenView[]> {
    const r = await this.db.query<{ id: string; name: string; user: string; created_at: Date; last_used_at: Date | null }>(
      `SELECT t.id, t.name, u.name AS user, t.created_at, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE $1::text IS NULL OR t.user_id = $1 ORDER BY t.created_at`,
      [userId],
    );
    return r.rows.map((t) => ({ id: t.id, name: t.name, user: t.user, created_at: iso(t.created_at), last_used_at: t.last_used_at ? iso(t.last_used_at) : null }));
  }

  /** Revokes a token of `userId` (or anyone's when null); an unknown or foreign id is not_found. */
  async revokeApiToken(id: string, userId: string | null): Promise<void> {
    const r = await this.db.query('DELETE FROM api_tokens WHERE id = $1 AND ($2::text IS NULL OR user_id = $2)', [id, userId]);
    if (r.rowCount === 0) throw notFound(`token "${id.slice(0, 80)}" not found`);
  }

  /** Who a personal API token acts as, or null. */
  async principalOfApiToken(token: string): Promise<Principal | null> {
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    const hash = sha256(token);
    const r = await this.db.query<{ id: string; name: string; role: string }>(
      'UPDATE api_tokens t SET last_used_at = now() FROM users u WHERE t.token_hash = $1 AND u.id = t.user_id RETURNING u.id, u.name, u.role',
      [hash],
    );
    const row = r.rows[0];
    return row ? { kind: 'user', id: row.id, name: row.name, role: roleOf(row.role), via: 'bearer', credentialHash: hash } : null;
  }

  /** Re-checks a bearer principal (a personal token may have been revoked, or its user's role changed). */
  async principalOfApiTokenHash(hash: string): Promise<Principal | null> {
    const r = await this.db.query<{ id: string; name: string; role: string }>(
      'SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1',
      [hash],
    );
    const row = r.rows[0];
    return row ? { kind: 'user', id: row.id, name: row.name, role: roleOf(row.role), via: 'bearer', credentialHash: hash } : null;
  }

  // ---- audit log -----------------------------------------------------------------------------

  async audit(actor: string, action: string, target = '', detail: Record<string, unknown> = {}): Promise<void> {
    await this.db.query('INSERT INTO audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4)', [actor, action, target, JSON.stringify(detail)]);
  }

  async auditEntries(limit = 200, beforeId?: number): Promise<AuditEntry[]> {
    const r = await this.db.query<{ id: string; at: Date; actor: string; action: string; target: string; detail: Record<string, unknown> }>(
      'SELECT id, at, actor, action, target, detail FROM audit_log WHERE $2::bigint IS NULL OR id < $2 ORDER BY id DESC LIMIT $1',
      [Math.min(Math.max(limit, 1), 1000), beforeId ?? null],
    );
    return r.rows.map((e) => ({ id: Number(e.id), at: iso(e.at), actor: e.actor, action: e.action, target: e.target, detail: e.detail }));
  }
}
