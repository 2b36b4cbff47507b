import { addUser, listUsers } from '@/lib/access/admin-service';
import { addUserSchema } from '@/lib/protocol/access-api';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

export function GET() {
  return respond(() => listUsers());
}

/** {"name","role","password"}: 201; a taken name is 409. */
export async function POST(request: Request) {
  return respond(async () => addUser(await parseBody(request, addUserSchema)), 201, (r) => `${r.user.name} as ${r.user.role}`);
}
