import { listSecrets } from '@/lib/access/secrets-service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** The workspace's secrets: names, when and by whom each was set. Never values. */
export function GET() {
  return respond(() => listSecrets());
}
