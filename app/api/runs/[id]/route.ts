import { getRunReport } from '@/lib/scheduler/service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** The run with its block runs, attempts and every state transition. */
export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return respond(() => getRunReport(id));
}
