import { requirePrincipal } from '@/lib/access/request-principal';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** Who this browser or token is signed in as. */
export function GET(request: Request) {
  return respond(async () => {
    const p = requirePrincipal(request);
    return { user: { name: p.name, role: p.role, kind: p.kind } };
  });
}
