import { sweepRequestSchema } from '@/lib/protocol/disk-api';
import { sweepNow } from '@/lib/retention/service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/** `{}`: applies every project's retention settings now and answers what was freed. */
export function POST(request: Request) {
  return respond(async () => {
    await parseBody(request, sweepRequestSchema);
    return sweepNow();
  });
}
