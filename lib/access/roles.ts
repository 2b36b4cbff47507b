/**
 * Who may do what (CONTRACTS.md "Access"): viewers read, editors also edit and run, owners also
 * manage users, secrets and tokens. Stored in the users table as these strings; never renamed.
 */
export const ROLES = ['viewer', 'editor', 'owner'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, editor: 1, owner: 2 };

/** True when `held` includes everything `needed` may do. */
export function roleAllows(held: Role, needed: Role): boolean {
  return RANK[held] >= RANK[needed];
}

/** "an owner", "an editor", "a viewer": for messages that say what someone is. */
export function withArticle(role: Role): string {
  return `${role === 'viewer' ? 'a' : 'an'} ${role}`;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * Whoever a request or socket acts as, once authenticated.
 * - `user`: signed in with a name and password (a session cookie) or a personal API token.
 * - `start_token`: signed in with the token printed at start (no users, or GRIMOIRE_TOKEN); an owner.
 */
export interface Principal {
  kind: 'user' | 'start_token';
  /** users.id, or 'start-token' for the start token; kernels and audit lines are keyed by it. */
  id: string;
  /** The user's name as shown and audited ('token' for the start token). */
  name: string;
  role: Role;
  /** How it authenticated: a session cookie or a bearer token (personal API token or the start token). */
  via: 'session' | 'bearer';
  /** sha256 of the session cookie or bearer token it came with: revalidated on every socket message. */
  credentialHash: string;
}

export const START_TOKEN_PRINCIPAL_ID = 'start-token';
