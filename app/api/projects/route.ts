import { createProjectSchema } from '@/lib/protocol/editor-api';
import { getProjects } from '@/lib/server/catalog';
import { newProject } from '@/lib/server/editor-service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

export function GET() {
  return respond(async () => ({ projects: await getProjects() }));
}

export function POST(request: Request) {
  return respond(async () => newProject(await parseBody(request, createProjectSchema)), 200, (r) => r.project);
}
