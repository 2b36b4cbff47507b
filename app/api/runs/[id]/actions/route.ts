import { runActionSchema } from '@/lib/protocol/runs-api';
import { cancelRun, retryRun } from '@/lib/scheduler/service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/** {"action": "cancel"} or {"action": "retry"} (from the failed blocks). */
export async function POST(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return respond(async () => {
    const { action } = await parseBody(request, runActionSchema);
    return action === 'cancel' ? cancelRun(id) : retryRun(id);
  });
}
