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
