import { PRINCIPAL_HEADER } from '../../lib/access/context';
import { type Principal, type Role } from '../../lib/access/roles';
import { type SocketAccess } from '../../lib/access/socket-access';

/**
 * For tests of the gateway on its own: every socket is the same principal (an editor unless
 * told otherwise). The real server asks the access store (lib/access/socket-access.ts).
 */
export function fixedAccess(role: Role = 'editor', id = 'tester'): SocketAccess {
  const principal: Principal = { kind: 'user', id, name: id, role, via: 'session', credentialHash: id };
  return {
    authenticate: async () => principal,
    revalidate: async (p) => p,
    audit: async () => undefined,
  };
}

/**
 * The header the access gate attaches to a request it let through, for tests that call route
 * handlers directly (the gate itself is tested over HTTP in test/e2e/access.test.ts).
 */
export function gatePrincipalHeaders(role: Role = 'owner', id = 'tester'): Record<string, string> {
  const principal: Principal = { kind: 'user', id, name: id, role, via: 'session', credentialHash: id };
  return { [PRINCIPAL_HEADER]: Buffer.from(JSON.stringify(principal)).toString('base64url') };
}
