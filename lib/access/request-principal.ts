/** Who a route handler's request acts as: the gate attaches it (lib/access/gate.ts) after checking the role table. */
import { z } from 'zod';
import { PRINCIPAL_HEADER } from './context';
import { type Principal, ROLES } from './roles';

const principalSchema = z.object({
  kind: z.enum(['user', 'start_token']),
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  via: z.enum(['session', 'bearer']),
  credentialHash: z.string(),
});

/** The principal of a request, or null on a public route reached without one. */
export function principalOf(request: Request): Principal | null {
  const raw = request.headers.get(PRINCIPAL_HEADER);
  if (!raw) return null;
  try {
    const parsed = principalSchema.safeParse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The principal of a request on a signed-in route; the gate never lets one through without it. */
export function requirePrincipal(request: Request): Principal {
  const principal = principalOf(request);
  if (!principal) throw new Error('a signed-in route was reached without a principal: is the access gate in front of Next?');
  return principal;
}
