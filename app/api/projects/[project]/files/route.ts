import { projectFiles } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** The project's block files (the file browser). */
export async function GET(_req: Request, { params }: { params: Promise<{ project: string }> }) {
  const { project } = await params;
  return respond(() => projectFiles(project));
}
