import { getPipelines } from '@/lib/server/catalog';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

export async function GET(_req: Request, { params }: { params: Promise<{ project: string }> }) {
  const { project } = await params;
  return respond(async () => ({ pipelines: await getPipelines(project) }));
}
