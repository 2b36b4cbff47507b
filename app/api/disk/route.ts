import { diskUsage } from '@/lib/retention/service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** Disk used per project and pipeline (run outputs, logs, caches, lakes) and what retention would free now. */
export function GET() {
  return respond(() => diskUsage());
}
