import { requirePrincipal } from '@/lib/access/request-principal';
import { removeSecret, setSecret } from '@/lib/access/secrets-service';
import { setSecretSchema } from '@/lib/protocol/access-api';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ name: string }> };

/** {"value"}: sets or replaces the secret; the answer names it, without the value. */
export async function PUT(request: Request, { params }: Params) {
  const { name } = await params;
  return respond(async () => setSecret(name, (await parseBody(request, setSecretSchema)).value, requirePrincipal(request).name));
}

/** Removes the secret; 404 when there is none. */
export async function DELETE(_request: Request, { params }: Params) {
  const { name } = await params;
  return respond(() => removeSecret(name));
}
