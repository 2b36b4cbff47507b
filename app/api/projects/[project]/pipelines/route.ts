import { pipelinesActionSchema } from '@/lib/protocol/editor-api';
import { getPipelines } from '@/lib/server/catalog';
import { pipelinesAction } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ project: string }> };

export async function GET(_req: Request, { params }: Params) {
  const { project } = await params;
  return respond(async () => ({ pipelines: await getPipelines(project) }));
}

/** Create a pipeline, or clone one. */
export async function POST(request: Request, { params }: Params) {
  const { project } = await params;
  return respond(async () => pipelinesAction(project, await parseBody(request, pipelinesActionSchema)), 200, (r) => r.pipeline);
}
