/**
 * Users, personal API tokens and the audit log, for the thin route handlers under app/api
 * (the role each needs is in lib/access/rules.ts; the gate checked it already).
 */
import { forbidden } from '../errors';
import { type ApiTokenView, type AuditEntry, type UserView } from './access-store';
import { accessContext } from './context';
import { type Principal, type Role } from './roles';

export async function listUsers(): Promise<{ users: UserView[] }> {
  return { users: await accessContext().store.listUsers() };
}

export async function addUser(body: { name: string; role: Role; password: string }): Promise<{ user: { name: string; role: Role } }> {
  await accessContext().store.addUser(body.name, body.role, body.password);
  return { user: { name: body.name, role: body.role } };
}

/** A new role or password ends the user's sessions at once. */
export async function changeUser(name: string, body: { role?: Role; password?: string }): Promise<{ user: string; changed: string[] }> {
  const store = accessContext().store;
  if (body.role) await store.setRole(name, body.role);
  if (body.password) await store.setPassword(name, body.password);
  // What changed, for the audit log (never the password itself).
  return { user: name, changed: [...(body.role ? [`role ${body.role}`] : []), ...(body.password ? ['password'] : [])] };
}

export async function removeUser(name: string): Promise<{ removed: string }> {
  await accessContext().store.removeUser(name);
  return { removed: name };
}

/** Personal API tokens belong to users: the start token signs in no user that could own one. */
function tokenOwner(principal: Principal): string {
  if (principal.kind !== 'user') throw forbidden('personal API tokens belong to users: sign in with a user (grimoire users add) to make one');
  return principal.id;
}

/** The caller's own tokens; an owner sees everyone's. */
export async function listTokens(principal: Principal): Promise<{ tokens: ApiTokenView[] }> {
  const everyone = principal.role === 'owner';
  return { tokens: await accessContext().store.listApiTokens(everyone ? null : tokenOwner(principal)) };
}

/** The token is in this answer only; the store keeps its hash. */
export async function createToken(principal: Principal, name: string): Promise<{ id: string; name: string; token: string }> {
  return { ...(await accessContext().store.createApiToken(tokenOwner(principal), name)), name };
}

/** Editors revoke their own tokens, owners anyone's. */
export async function revokeToken(principal: Principal, id: string): Promise<{ revoked: string }> {
  await accessContext().store.revokeApiToken(id, principal.role === 'owner' ? null : tokenOwner(principal));
  return { revoked: id };
}

export async function auditLog(before?: number): Promise<{ entries: AuditEntry[] }> {
  return { entries: await accessContext().store.auditEntries(200, before) };
}
