import { saveFileSchema } from '@/lib/protocol/editor-api';
import { addOnFile, saveAddOn } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/** An add-on block's code (kind: conditional or callback), as the pipeline's metadata.yaml lists it. */
type Params = { params: Promise<{ project: string; pipeline: string; kind: string; addon: string }> };

export async function GET(_req: Request, { params }: Params) {
  const { project, pipeline, kind, addon } = await params;
  return respond(() => addOnFile(project, pipeline, kind, addon));
}

/** Saves the add-on's code; 409 when the file changed since `version`. */
export async function PUT(request: Request, { params }: Params) {
  const { project, pipeline, kind, addon } = await params;
  return respond(async () => {
    const body = await parseBody(request, saveFileSchema);
    return saveAddOn(project, pipeline, kind, addon, body.content, body.version);
  });
}
