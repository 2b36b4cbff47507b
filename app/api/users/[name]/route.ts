import { changeUser, removeUser } from '@/lib/access/admin-service';
import { changeUserSchema } from '@/lib/protocol/access-api';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ name: string }> };

/** {"role"} and/or {"password"}: either ends the user's sessions at once. */
export async function PATCH(request: Request, { params }: Params) {
  const { name } = await params;
  return respond(async () => changeUser(name, await parseBody(request, changeUserSchema)), 200, (r) => r.changed.join(', '));
}

/** Removes the user, their sessions and their tokens; the last owner cannot be removed. */
export async function DELETE(_req: Request, { params }: Params) {
  const { name } = await params;
  return respond(() => removeUser(name));
}
