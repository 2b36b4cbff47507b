import { createTriggerSchema } from '@/lib/protocol/runs-api';
import { createTrigger, listTriggerReports } from '@/lib/scheduler/service';
import { requirePrincipal } from '@/lib/access/request-principal';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ project: string; pipeline: string }> };

/** The pipeline's triggers with next run time and why the last expected run did or did not start. */
export async function GET(_req: Request, { params }: Params) {
  const { project, pipeline } = await params;
  return respond(() => listTriggerReports(project, pipeline));
}

/** Create (written to triggers.yaml); an API trigger's token is in an owner's answer, this once. */
export async function POST(request: Request, { params }: Params) {
  const { project, pipeline } = await params;
  return respond(async () => createTrigger(project, pipeline, await parseBody(request, createTriggerSchema), requirePrincipal(request).role === 'owner'), 200, (r) => r.name);
}
