/**
 * Sign-in and sign-out, for the thin route handlers under app/api/auth. Failed sign-ins are
 * throttled (lib/access/throttle.ts) and audited up to a rate; any wrong pair gets the same
 * answer, so the answer never tells whether a name exists.
 */
import { UserError } from '../errors';
import { SESSION_LIFETIME_MS } from './access-store';
import { accessContext } from './context';
import { type Principal } from './roles';

export interface SignedIn {
  cookieValue: string;
  maxAgeSeconds: number;
  user: { name: string; role: Principal['role'] };
}

export async function signIn(username: string, password: string, address: string): Promise<SignedIn> {
  const ctx = accessContext();
  const name = username.toLowerCase();
  const keys = [`pair:${name}|${address}`, `user:${name}`];
  const wait = ctx.throttle.waitMs(keys);
  if (wait > 0) {
    await auditFailure(username, 'sign_in_throttled', address);
    throw new UserError('too_many_requests', `too many failed sign-ins: try again in ${Math.ceil(wait / 1000)} s`);
  }
  const user = await ctx.store.checkSignIn(username, password);
  if (!user) {
    ctx.throttle.failed(keys);
    await auditFailure(username, 'sign_in_failed', address);
    throw new UserError('unauthorized', 'wrong user name or password');
  }
  ctx.throttle.succeeded(keys);
  const cookieValue = await ctx.store.createSession(user.id, null);
  await ctx.store.audit(user.name, 'sign_in', '', { address });
  return { cookieValue, maxAgeSeconds: Math.floor(SESSION_LIFETIME_MS / 1000), user: { name: user.name, role: user.role } };
}

/** Failed sign-ins are audited up to a rate; past it they are counted into the next entry written. */
async function auditFailure(username: string, action: string, address: string): Promise<void> {
  const ctx = accessContext();
  const decision = ctx.throttle.auditFailure();
  if (!decision.write) return;
  await ctx.store.audit(username.slice(0, 100), action, '', { address, ...(decision.unaudited > 0 ? { unaudited_failures_before: decision.unaudited } : {}) });
}

export async function signOut(cookieValue: string | null): Promise<void> {
  if (cookieValue) await accessContext().store.endSession(cookieValue);
}
