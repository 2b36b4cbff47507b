import { workersQuerySchema } from '@/lib/protocol/workers-api';
import { orchestration } from '@/lib/scheduler/slot';
import { readWorkersPage } from '@/lib/store/worker-page-reads';
import { invalidInput } from '@/lib/errors';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** Every process that drives runs, live ones first, with what each runs now; ?ended=N caps the stopped and lost ones listed (default 50). */
export async function GET(request: Request) {
  return respond(async () => {
    const parsed = workersQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
    if (!parsed.success) throw invalidInput(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return readWorkersPage(orchestration().store, parsed.data);
  });
}
