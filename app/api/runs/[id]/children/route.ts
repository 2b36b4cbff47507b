import { runChildrenQuerySchema } from '@/lib/protocol/runs-api';
import { getRunChildren } from '@/lib/scheduler/run-report';
import { invalidInput } from '@/lib/errors';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** One page of a dynamic block's children: ?block=<uuid>&offset=0&limit=50&status=<status>. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return respond(async () => {
    const parsed = runChildrenQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
    if (!parsed.success) throw invalidInput(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return getRunChildren(id, parsed.data);
  });
}
