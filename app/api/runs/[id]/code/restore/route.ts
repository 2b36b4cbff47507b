import { restoreRunCodeSchema } from '@/lib/protocol/runs-api';
import { restoreRunFile } from '@/lib/runs/run-code';
import { orchestration } from '@/lib/scheduler/slot';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/** {"path", "version"?}: writes the file as the run ran it back to the project; 409 when it changed since `version`. */
export async function POST(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return respond(async () => {
    const body = await parseBody(request, restoreRunCodeSchema);
    return restoreRunFile(orchestration().store, id, body.path, body.version);
  }, 200, (r) => `run ${id}: ${r.path}`);
}
