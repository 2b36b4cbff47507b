import { runLogs } from '@/lib/scheduler/service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** Log lines: ?block=<uuid>&after=<id> to follow a running block, &q=<text> to search. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const q = new URL(request.url).searchParams;
  const after = Number(q.get('after') ?? 0);
  return respond(() => runLogs(id, { block: q.get('block') ?? undefined, after: Number.isFinite(after) ? after : 0, search: q.get('q') || undefined }));
}
