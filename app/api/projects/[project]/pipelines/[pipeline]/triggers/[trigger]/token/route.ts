import { rotateToken } from '@/lib/scheduler/service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** A new token (shown once; the old one stops working). */
export async function POST(_req: Request, { params }: { params: Promise<{ project: string; pipeline: string; trigger: string }> }) {
  const { project, pipeline, trigger } = await params;
  return respond(async () => ({ token: await rotateToken(project, pipeline, trigger) }));
}
