import { createBackfillSchema } from '@/lib/protocol/runs-api';
import { createBackfill, listBackfillViews } from '@/lib/scheduler/service';
import { invalidInput } from '@/lib/errors';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

function pipelineOf(request: Request): { project: string; pipeline: string } {
  const q = new URL(request.url).searchParams;
  const project = q.get('project');
  const pipeline = q.get('pipeline');
  if (!project || !pipeline) throw invalidInput('?project=<project>&pipeline=<pipeline> is required');
  return { project, pipeline };
}

/** Backfills of a pipeline with their progress (run counts per status). */
export async function GET(request: Request) {
  return respond(async () => {
    const { project, pipeline } = pipelineOf(request);
    return listBackfillViews(project, pipeline);
  });
}

/** One run per interval of the range, at most `concurrency` at once. */
export async function POST(request: Request) {
  return respond(async () => {
    const { project, pipeline } = pipelineOf(request);
    return createBackfill(project, pipeline, await parseBody(request, createBackfillSchema));
  }, 200, (r) => `${r.backfill.project}/${r.backfill.pipeline} backfill ${r.backfill.id}`);
}
