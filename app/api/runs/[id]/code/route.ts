import { runCode } from '@/lib/runs/run-code';
import { orchestration } from '@/lib/scheduler/slot';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** The code the run ran: every pinned file with its text now, and each block's file. */
export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return respond(() => runCode(orchestration().store, id));
}
