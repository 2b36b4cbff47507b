import { runReportQuerySchema } from '@/lib/protocol/runs-api';
import { getRunReport } from '@/lib/scheduler/run-report';
import { invalidInput } from '@/lib/errors';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** The run with its block runs, attempts and every state transition; ?children=summary counts a dynamic block's children instead of listing them. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return respond(async () => {
    const parsed = runReportQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
    if (!parsed.success) throw invalidInput(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return getRunReport(id, parsed.data);
  });
}
