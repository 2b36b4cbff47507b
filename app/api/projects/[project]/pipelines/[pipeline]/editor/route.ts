import { editorPipeline } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** The pipeline as the editor holds it, with its version for later edits. */
export async function GET(_req: Request, { params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  return respond(() => editorPipeline(project, pipeline));
}
