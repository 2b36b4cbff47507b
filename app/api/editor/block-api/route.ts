import { blockApiTypes } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** The block API as global declarations, for Monaco's TypeScript intellisense. */
export function GET() {
  return respond(() => blockApiTypes());
}
