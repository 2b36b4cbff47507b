import { revokeToken } from '@/lib/access/admin-service';
import { requirePrincipal } from '@/lib/access/request-principal';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** Revokes a token at once (your own; an owner, anyone's). */
export async function DELETE(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return respond(() => revokeToken(requirePrincipal(request), id));
}
