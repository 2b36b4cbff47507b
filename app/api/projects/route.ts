import { getProjects } from '@/lib/server/catalog';
import { respond } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

export function GET() {
  return respond(async () => ({ projects: await getProjects() }));
}
