import { editPipelineSchema } from '@/lib/protocol/editor-api';
import { editPipeline } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/** Notebook and graph edits; 409 when metadata.yaml changed since `version`. */
export async function POST(request: Request, { params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  return respond(async () => {
    const body = await parseBody(request, editPipelineSchema);
    return editPipeline(project, pipeline, body.version, body.edits);
  });
}
