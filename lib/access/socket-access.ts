/**
 * How the socket gateway learns and re-checks who a socket acts as, and records what it did.
 * The server's implementation asks the access store on every call (accessOfContext); tests of
 * the gateway alone give it a fixed principal.
 */
import { type IncomingHttpHeaders } from 'node:http';
import { authenticate, revalidate } from './authenticate';
import { type AccessContext, cookieValue, SESSION_COOKIE } from './context';
import { type Principal } from './roles';

export interface Handshake {
  headers: IncomingHttpHeaders;
  /** socket.io's `auth` payload: `{ token }` for bearer sign-in. */
  auth: Record<string, unknown>;
}

export interface SocketAccess {
  /** Who the handshake signs in, or null (the connection is refused). */
  authenticate(handshake: Handshake): Promise<Principal | null>;
  /** The principal as it stands now (role changes apply), or null when its session or token ended. */
  revalidate(principal: Principal, handshake: Handshake): Promise<Principal | null>;
  audit(principal: Principal, action: string, target: string, detail: Record<string, unknown>): Promise<void>;
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function socketAccessOf(context: () => AccessContext): SocketAccess {
  return {
    authenticate: async (h) => {
      const ctx = context();
      const token = typeof h.auth.token === 'string' ? h.auth.token : undefined;
      return authenticate(ctx.store, ctx.startToken, { cookie: first(h.headers.cookie), authorization: first(h.headers.authorization), token });
    },
    revalidate: async (principal, h) => {
      const ctx = context();
      return revalidate(ctx.store, ctx.startToken, principal, cookieValue(first(h.headers.cookie), SESSION_COOKIE));
    },
    audit: (principal, action, target, detail) => context().store.audit(principal.name, action, target, detail),
  };
}
