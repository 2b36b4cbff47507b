import { auditLog } from '@/lib/access/admin-service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** The newest 200 audit entries, or those before ?before=<id>. */
export function GET(request: Request) {
  const before = Number(new URL(request.url).searchParams.get('before'));
  return respond(() => auditLog(Number.isInteger(before) && before > 0 ? before : undefined));
}
