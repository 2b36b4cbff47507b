import { getPipeline } from '@/lib/server/catalog';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

export async function GET(_req: Request, { params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  return respond(async () => ({ pipeline: await getPipeline(project, pipeline) }));
}
