import { z } from 'zod';
import { variablesSchema } from '@/lib/protocol/json';
import { runListQuerySchema } from '@/lib/protocol/runs-api';
import { listRunSummaries, startManualRun } from '@/lib/scheduler/service';
import { requirePrincipal } from '@/lib/access/request-principal';
import { invalidInput } from '@/lib/errors';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/** Runs, newest first; filters: project, pipeline, trigger, status, kind, backfill, limit. */
export async function GET(request: Request) {
  return respond(async () => {
    const parsed = runListQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
    if (!parsed.success) throw invalidInput(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return listRunSummaries(parsed.data);
  });
}

const manual = z.object({ project: z.string().min(1), pipeline: z.string().min(1), variables: variablesSchema.optional() }).strict();

/** A manual run of a whole pipeline, recorded as started by the caller. */
export async function POST(request: Request) {
  return respond(async () => {
    const body = await parseBody(request, manual);
    return startManualRun(body.project, body.pipeline, body.variables, requirePrincipal(request).id);
  }, 200, (r) => r.run.id);
}
