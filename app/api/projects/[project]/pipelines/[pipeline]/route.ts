import { renamePipelineSchema } from '@/lib/protocol/editor-api';
import { getPipeline } from '@/lib/server/catalog';
import { deletePipelineIn, renamePipelineIn } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ project: string; pipeline: string }> };

export async function GET(_req: Request, { params }: Params) {
  const { project, pipeline } = await params;
  return respond(async () => ({ pipeline: await getPipeline(project, pipeline) }));
}

/** Rename. */
export async function PATCH(request: Request, { params }: Params) {
  const { project, pipeline } = await params;
  return respond(async () => renamePipelineIn(project, pipeline, (await parseBody(request, renamePipelineSchema)).name));
}

export async function DELETE(_req: Request, { params }: Params) {
  const { project, pipeline } = await params;
  return respond(async () => deletePipelineIn(project, pipeline));
}
