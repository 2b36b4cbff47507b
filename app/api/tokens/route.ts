import { createToken, listTokens } from '@/lib/access/admin-service';
import { requirePrincipal } from '@/lib/access/request-principal';
import { createTokenSchema } from '@/lib/protocol/access-api';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/** Your personal API tokens (an owner sees everyone's), without the tokens themselves. */
export function GET(request: Request) {
  return respond(() => listTokens(requirePrincipal(request)));
}

/** {"name"}: 201 {"id","token"}; the token is shown this once. */
export async function POST(request: Request) {
  return respond(async () => createToken(requirePrincipal(request), (await parseBody(request, createTokenSchema)).name), 201, (t) => `${t.name} (${t.id})`);
}
