import { saveFileSchema } from '@/lib/protocol/editor-api';
import { blockFile, saveBlock } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ project: string; pipeline: string; block: string }> };

export async function GET(_req: Request, { params }: Params) {
  const { project, pipeline, block } = await params;
  return respond(() => blockFile(project, pipeline, block));
}

/** Saves the block's code; 409 when the file changed since `version`. */
export async function PUT(request: Request, { params }: Params) {
  const { project, pipeline, block } = await params;
  return respond(async () => {
    const body = await parseBody(request, saveFileSchema);
    return saveBlock(project, pipeline, block, body.content, body.version);
  });
}
