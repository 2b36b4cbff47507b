// One editor server in its own process, for tests that run several on one projects folder and one
// store schema: node --import tsx editor-server-process.ts <url> <schema> <projectsDir>
//
// It is what `grimoire start` runs for the editor's saves and edits, minus Next and the access gate
// (both need a production build): the orchestration (its store in the process slot, as the real
// server sets it) and the real route handlers of app/api, called with web Requests as Next calls
// them. Prints `ready <port>` once it listens on 127.0.0.1.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { GET as getBlock, PUT as putBlock } from '../../app/api/projects/[project]/pipelines/[pipeline]/blocks/[block]/route';
import { GET as getEditor } from '../../app/api/projects/[project]/pipelines/[pipeline]/editor/route';
import { POST as postEdits } from '../../app/api/projects/[project]/pipelines/[pipeline]/edits/route';
import { startOrchestration } from '../../lib/scheduler/orchestrator';

type Handler = (request: Request, match: string[]) => Promise<Response>;

const params = <T>(p: T) => ({ params: Promise.resolve(p) });

/** Method + path pattern -> the route handler Next would call for it. */
const ROUTES: { method: string; pattern: RegExp; handle: Handler }[] = [
  {
    method: 'GET',
    pattern: /^\/api\/projects\/([^/]+)\/pipelines\/([^/]+)\/blocks\/([^/]+)$/,
    handle: (r, [project = '', pipeline = '', block = '']) => getBlock(r, params({ project, pipeline, block })),
  },
  {
    method: 'PUT',
    pattern: /^\/api\/projects\/([^/]+)\/pipelines\/([^/]+)\/blocks\/([^/]+)$/,
    handle: (r, [project = '', pipeline = '', block = '']) => putBlock(r, params({ project, pipeline, block })),
  },
  {
    method: 'GET',
    pattern: /^\/api\/projects\/([^/]+)\/pipelines\/([^/]+)\/editor$/,
    handle: (r, [project = '', pipeline = '']) => getEditor(r, params({ project, pipeline })),
  },
  {
    method: 'POST',
    pattern: /^\/api\/projects\/([^/]+)\/pipelines\/([^/]+)\/edits$/,
    handle: (r, [project = '', pipeline = '']) => postEdits(r, params({ project, pipeline })),
  },
];

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = req.method ?? 'GET';
  for (const route of ROUTES) {
    const m = route.method === method ? route.pattern.exec(url.pathname) : null;
    if (!m) continue;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const request = new Request(url, { method, headers, body: method === 'GET' ? undefined : body });
    const answer = await route.handle(request, m.slice(1).map(decodeURIComponent));
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await answer.arrayBuffer()));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 'not_found', message: `${method} ${url.pathname}` } }));
}

async function main() {
  const [url, schema, projectsDir] = process.argv.slice(2);
  if (!url || !schema || !projectsDir) throw new Error('usage: editor-server-process.ts <url> <schema> <projectsDir>');
  // Where editor-service finds the projects (lib/server/config.ts), as startServer sets it.
  process.env.GRIMOIRE_PROJECTS = projectsDir;
  // No scheduler or worker: the editor's writes need only the store.
  const orchestration = await startOrchestration({ url, schema, projectsDir, roles: { scheduler: false, worker: false }, log: () => undefined });
  const http = createServer((req, res) => {
    serve(req, res).catch((e: unknown) => {
      process.stderr.write(`editor-server-process: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  process.stdout.write(`ready ${address && typeof address === 'object' ? address.port : 0}\n`);
  const stop = () => {
    http.closeAllConnections();
    http.close();
    void orchestration.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main().catch((e: unknown) => {
  process.stderr.write(`editor-server-process: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
