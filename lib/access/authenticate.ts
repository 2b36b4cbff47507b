/**
 * Who a request or a socket handshake acts as: a session cookie, or a bearer token (the start
 * token, or a personal API token). Every call asks the database, so revocation takes effect at once.
 */
import { type AccessStore, type StartToken } from './access-store';
import { bearerToken, cookieValue, SESSION_COOKIE } from './context';
import { sameSecret, sha256 } from './credentials';
import { type Principal, START_TOKEN_PRINCIPAL_ID } from './roles';

export interface Credentials {
  cookie?: string;
  authorization?: string;
  /** socket.io's `auth: { token }`. */
  token?: string;
}

export async function authenticate(store: AccessStore, start: StartToken, credentials: Credentials): Promise<Principal | null> {
  const bearer = credentials.token ?? bearerToken(credentials.authorization);
  if (bearer) return principalOfBearer(store, start, bearer);
  const session = cookieValue(credentials.cookie, SESSION_COOKIE);
  return session ? store.principalOfSession(session, start) : null;
}

async function principalOfBearer(store: AccessStore, start: StartToken, token: string): Promise<Principal | null> {
  if (start.hash !== null && sha256(token).length === start.hash.length && sameSecretHash(token, start.hash)) {
    if (!(await store.startTokenAccepted(start))) return null;
    return { kind: 'start_token', id: START_TOKEN_PRINCIPAL_ID, name: 'token', role: 'owner', via: 'bearer', credentialHash: start.hash };
  }
  return store.principalOfApiToken(token);
}

function sameSecretHash(token: string, hash: string): boolean {
  return sameSecret(sha256(token), hash);
}

/**
 * Checks a principal again (before each socket message): the same credential must still sign in
 * the same principal with the same role. Returns the current principal, or null when it ended.
 */
export async function revalidate(store: AccessStore, start: StartToken, principal: Principal, session: string | null): Promise<Principal | null> {
  let now: Principal | null;
  if (principal.via === 'session') {
    now = session ? await store.principalOfSession(session, start) : null;
  } else if (principal.kind === 'start_token') {
    now = principal.credentialHash === start.hash && (await store.startTokenAccepted(start)) ? principal : null;
  } else {
    now = await store.principalOfApiTokenHash(principal.credentialHash);
  }
  return now && now.id === principal.id ? now : null;
}
