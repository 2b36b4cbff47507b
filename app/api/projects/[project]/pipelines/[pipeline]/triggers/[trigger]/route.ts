import { updateTriggerSchema } from '@/lib/protocol/runs-api';
import { deleteTrigger, updateTrigger } from '@/lib/scheduler/service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ project: string; pipeline: string; trigger: string }> };

/** Edit: only the fields sent change (pause sends only status). */
export async function PATCH(request: Request, { params }: Params) {
  const { project, pipeline, trigger } = await params;
  return respond(async () => updateTrigger(project, pipeline, trigger, await parseBody(request, updateTriggerSchema)));
}

export async function DELETE(_req: Request, { params }: Params) {
  const { project, pipeline, trigger } = await params;
  return respond(() => deleteTrigger(project, pipeline, trigger));
}
