/**
 * Sign-in, sign-out and who-am-I, for the thin route handlers under app/api/auth. Failed sign-ins
 * are throttled per name and per address, and every one is audited; any wrong pair gets the
 * same answer, so the answer never tells whether a name exists.
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
  const keys = [`user:${username.toLowerCase()}`, `ip:${address}`];
  const wait = ctx.throttle.waitMs(keys);
  if (wait > 0) {
    await ctx.store.audit(username.slice(0, 100), 'sign_in_throttled', '', { address });
    throw new UserError('too_many_requests', `too many failed sign-ins: try again in ${Math.ceil(wait / 1000)} s`);
  }
  const user = await ctx.store.checkSignIn(username, password);
  if (!user) {
    ctx.throttle.failed(keys);
    await ctx.store.audit(username.slice(0, 100), 'sign_in_failed', '', { address });
    throw new UserError('unauthorized', 'wrong user name or password');
  }
  ctx.throttle.succeeded(keys);
  const cookieValue = await ctx.store.createSession(user.id, null);
  await ctx.store.audit(user.name, 'sign_in', '', { address });
  return { cookieValue, maxAgeSeconds: Math.floor(SESSION_LIFETIME_MS / 1000), user: { name: user.name, role: user.role } };
}

export async function signOut(cookieValue: string | null): Promise<void> {
  if (cookieValue) await accessContext().store.endSession(cookieValue);
}
