/**
 * Sign-in, roles and the attacks of issue #12, against the real server (production build) as
 * users, scripts and attackers reach it: over HTTP and socket.io, with a start token and with users.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { io as connect, type Socket } from 'socket.io-client';
import { HTTP_RULES, type HttpRule } from '../../lib/access/rules';
import { roleAllows, type Role } from '../../lib/access/roles';
import { CLIENT_EVENT, SERVER_EVENT, serverMessageSchema, type ServerMessage } from '../../lib/protocol/messages';
import { orchestration } from '../../lib/scheduler/slot';
import { startServer, type RunningServer } from '../../lib/server/start';
import { call, errorCode, sessionCookieOf, type Call } from '../support/http-client';
import { writeProject } from '../support/write-project';

let server: RunningServer;
let project: Awaited<ReturnType<typeof writeProject>>;
let token: string;
const cookies: Partial<Record<Role, string>> = {};
const PASSWORD = 'correct horse battery';
const sockets: Socket[] = [];

const http = (method: string, p: string, c: Call = {}) => call(server.url, method, p, c);

async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string) => {
    for (const e of (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === '.grimoire') continue;
      const full = path.join(d, e.name);
      h.update(full);
      if (e.isDirectory()) await walk(full);
      else h.update(await fs.readFile(full));
    }
  };
  await walk(dir);
  return h.digest('hex');
}

const runCount = async () => (await orchestration().store.runs.list({ limit: 1000 })).length;

before(async () => {
  project = await writeProject('shop', {
    'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: load, type: data_loader, language: sql }\n  - { uuid: slow, type: data_loader, language: typescript }\n',
    'data_loaders/load.sql': 'SELECT range AS n FROM range(5)\n',
    'data_loaders/slow.ts': "export default async function slow(ctx: BlockContext) {\n  ctx.log('slow started');\n  await new Promise((r) => setTimeout(r, 1500));\n  ctx.log('slow finished');\n  return [{ done: 1 }];\n}\n",
  });
  server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: project.root, dev: false });
  assert.ok(server.startToken && server.signInUrl);
  token = server.startToken;
  // The start token adds the first owner (and stops working: there are users now); she adds the rest.
  for (const [name, role] of [['olga', 'owner'], ['ed', 'editor'], ['vic', 'viewer']] as const) {
    const added = await http('POST', '/api/users', role === 'owner' ? { bearer: token, body: { name, role, password: PASSWORD } } : { cookie: cookies.owner, body: { name, role, password: PASSWORD } });
    assert.equal(added.status, 201, added.text);
    const signedIn = await http('POST', '/api/auth/login', { body: { username: name, password: PASSWORD } });
    assert.equal(signedIn.status, 200, signedIn.text);
    cookies[role] = sessionCookieOf(signedIn);
  }
});

after(async () => {
  for (const s of sockets) s.disconnect();
  delete process.env.GRIMOIRE_TOKEN;
  await server?.close();
  await project?.cleanup();
});

/** Sample values for a rule's parameters: real project, names that do not exist elsewhere (nothing to change). */
function samplePath(rule: HttpRule): string {
  const values: Record<string, string> = { project: 'shop', pipeline: 'ghost', block: 'load', trigger: 'nope', id: 'no-such-id', name: 'nobody' };
  return rule.path.replace(/\[(\w+)\]/g, (_m, k: string) => values[k] ?? 'x');
}

test('every route, as anonymous, viewer, editor and owner: the role table decides, and refusals change nothing', async () => {
  const before = { tree: await treeHash(project.root), runs: await runCount() };
  let checked = 0;
  // The start token is a user-less owner; with users it works only when GRIMOIRE_TOKEN set it.
  for (const rule of HTTP_RULES) {
    if (rule.path === '/api/auth/logout') continue; // would end the session the rest of the file uses
    for (const who of ['anonymous', 'viewer', 'editor', 'owner'] as const) {
      const c: Call = who === 'anonymous' ? {} : { cookie: cookies[who] };
      // Every body is invalid, so an allowed state change is refused by validation and changes nothing.
      if (rule.method !== 'GET') c.body = {};
      const a = await http(rule.method, samplePath(rule), c);
      const where = `${who} ${rule.method} ${rule.path} -> ${a.status} ${a.text.slice(0, 160)}`;
      assert.ok(a.status < 500, where);
      if (rule.access === 'public' || rule.access === 'trigger_token') {
        assert.ok(a.status !== 403 && !(a.status === 401 && errorCode(a) === 'unauthorized' && rule.access === 'public'), where);
      } else if (who === 'anonymous') {
        if (rule.page) {
          assert.equal(a.status, 303, where);
          assert.match(a.headers.get('location') ?? '', /^\/login\?next=/, where);
        } else {
          assert.equal(a.status, 401, where);
          assert.equal(errorCode(a), 'unauthorized', where);
        }
      } else if (!roleAllows(who, rule.access)) {
        assert.equal(a.status, 403, where);
        assert.equal(errorCode(a), 'forbidden', where);
      } else {
        assert.ok(a.status !== 401 && a.status !== 403, where);
      }
      checked++;
    }
  }
  assert.ok(checked >= 4 * 45, `checked ${checked}`);
  assert.equal(await treeHash(project.root), before.tree, 'a refused or invalid request changed project files');
  assert.equal(await runCount(), before.runs, 'a refused or invalid request created a run');
});

test('the attacks of the issue fail with a clear refusal and leave files and runs as they were', async () => {
  const before = { tree: await treeHash(project.root), runs: await runCount() };
  const block = '/api/projects/shop/pipelines/p/blocks/load';
  // Unauthenticated: read a block, write new code, start a run.
  assert.equal((await http('GET', block)).status, 401);
  assert.equal((await http('PUT', block, { body: { content: "SELECT 'pwned'", version: 'x' } })).status, 401);
  assert.equal((await http('POST', '/api/runs', { body: { project: 'shop', pipeline: 'p' } })).status, 401);
  // A foreign page with the editor's cookie: a text/plain POST, a JSON POST from its Origin.
  const evil = { origin: 'http://evil.example' };
  const plain = await http('POST', '/api/runs', { cookie: cookies.editor, raw: JSON.stringify({ project: 'shop', pipeline: 'p' }), headers: { ...evil, 'content-type': 'text/plain' } });
  assert.equal(plain.status, 403);
  assert.equal(errorCode(plain), 'forbidden_origin');
  const sameOriginPlain = await http('POST', '/api/runs', { cookie: cookies.editor, raw: JSON.stringify({ project: 'shop', pipeline: 'p' }), headers: { 'content-type': 'text/plain' } });
  assert.equal(sameOriginPlain.status, 415);
  assert.equal((await http('POST', '/api/projects', { cookie: cookies.owner, body: { name: 'planted' }, headers: evil })).status, 403);
  assert.equal((await http('POST', '/api/projects/shop/pipelines/p/triggers/t/token', { cookie: cookies.owner, headers: { ...evil, 'content-type': 'application/json' } })).status, 403);
  // DNS rebinding: a foreign Host with a valid session.
  const rebound = await rawGet('/api/projects', { cookie: cookies.owner ?? '', host: `attacker.example:${new URL(server.url).port}` });
  assert.equal(rebound.status, 403);
  assert.match(rebound.body, /forbidden_host/);
  assert.equal(await treeHash(project.root), before.tree);
  assert.equal(await runCount(), before.runs);
  await assert.rejects(fs.access(path.join(project.root, 'planted')));
});

/** fetch() sets Host itself and refuses odd methods and paths: attackers' requests are sent with node:http. */
async function rawRequest(method: string, p: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  const u = new URL(server.url);
  return new Promise((resolve, reject) => {
    // A connection of its own: a kept-alive one that the server closes for idleness as it is reused resets.
    const req = request({ host: u.hostname, port: u.port, method, path: p, headers: { host: u.host, ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const rawGet = (p: string, headers: Record<string, string>) => rawRequest('GET', p, headers);

test('malformed requests get 400 with a message, never 500; big bodies are refused before they are read', async () => {
  for (const p of ['/api/projects/%E0%A4%A/files', '/api/projects/..%2F..%2Fetc/files', '/api/projects/a%00b/files', '/api//projects']) {
    const a = await http('GET', p, { cookie: cookies.viewer });
    assert.equal(a.status, 400, `${p}: ${a.text}`);
    assert.equal(errorCode(a), 'invalid_input');
  }
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const nested = await http('POST', '/api/runs', { cookie: cookies.editor, raw: `{"project":"shop","pipeline":"p","variables":{"x":${deep}}}`, headers: { 'content-type': 'application/json' } });
  assert.equal(nested.status, 400, nested.text.slice(0, 200));
  const nul = await http('POST', '/api/projects', { cookie: cookies.editor, body: { name: 'a\u0000b' } });
  assert.equal(nul.status, 400);
  const huge = await http('PUT', '/api/projects/shop/pipelines/p/blocks/load', { cookie: cookies.editor, headers: { 'content-type': 'application/json', 'content-length': String(400 * 1024 * 1024) }, raw: '{}' }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  // Either the 413 answer, or the connection closed on the lying Content-Length: never a read.
  if (huge instanceof Error) assert.ok(true);
  else assert.equal(huge.status, 413);
  // A streamed body past the limit (no Content-Length) is cut off while it arrives.
  const big = new ReadableStream<Uint8Array>({
    start(controller) {
      const chunk = new TextEncoder().encode('x'.repeat(1024 * 1024));
      for (let i = 0; i < 12; i++) controller.enqueue(chunk);
      controller.close();
    },
  });
  const streamed = await fetch(`${server.url}/api/projects/shop/pipelines/p/blocks/load`, { method: 'PUT', headers: { cookie: cookies.editor ?? '', 'content-type': 'application/json' }, body: big, duplex: 'half' } as RequestInit & { duplex: 'half' }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  if (!(streamed instanceof Error)) assert.equal(streamed.status, 413);
  assert.equal((await fs.readFile(path.join(project.dir, 'data_loaders', 'load.sql'), 'utf8')).startsWith('SELECT range'), true);
});

test('every file-touching route, with traversal payloads in each name: nothing outside the projects folder is read or written', async () => {
  // Beside the projects folder: where `..` from a project name lands.
  const outside = path.dirname(project.root);
  const canary = path.join(outside, `canary-${path.basename(project.root)}.txt`);
  await fs.writeFile(canary, 'CANARY CONTENT\n');
  // Other programs write to the temp folder too: watch for the names these payloads could make.
  const planted = ['copy', 'etc', 'passwd', 'pwned', 'b', 'y', 'x', 'p', '....'];
  const listing = async () => (await fs.readdir(outside)).filter((n) => planted.includes(n) || n.startsWith('canary-')).sort().join('\n');
  const projectsListing = async () => (await fs.readdir(project.root)).sort().join('\n');
  const before = { listing: await listing(), projects: await projectsListing(), tree: await treeHash(project.root) };
  const payloads = ['..', '../..', `../../${path.basename(canary)}`, '%2e%2e', '..%2f..%2fetc%2fpasswd', '/etc/passwd', 'a\\..\\b', 'x%00y', '....//....//etc', canary];
  let tried = 0;
  try {
    for (const rule of HTTP_RULES) {
      const params = [...rule.path.matchAll(/\[(\w+)\]/g)].map((m) => m[1] ?? '');
      if (!rule.path.startsWith('/api/projects') && !rule.path.startsWith('/api/users')) continue;
      for (const param of params) {
        for (const payload of payloads) {
          const values: Record<string, string> = { project: 'shop', pipeline: 'p', block: 'load', trigger: 't', name: 'nobody' };
          values[param] = payload;
          const url = rule.path.replace(/\[(\w+)\]/g, (_m, k: string) => (k === param ? encodeURIComponent(payload) : (values[k] ?? 'x')));
          const body = rule.method === 'GET' ? undefined : { name: payload, content: 'pwned', version: 'x', from: payload, action: 'clone', edits: [], template: 'empty' };
          const a = await http(rule.method, url, { cookie: cookies.owner, body });
          assert.ok(a.status >= 400 && a.status < 500, `${rule.method} ${url} -> ${a.status} ${a.text.slice(0, 200)}`);
          assert.ok(!a.text.includes('CANARY') && !a.text.includes('root:x:0:0'), `${rule.method} ${url} leaked a file`);
          tried++;
        }
      }
    }
    // Names in bodies: new projects and pipelines named with the payloads.
    for (const payload of payloads) {
      for (const [method, url, body] of [
        ['POST', '/api/projects', { name: payload }],
        ['POST', '/api/projects/shop/pipelines', { action: 'create', name: payload }],
        ['POST', '/api/projects/shop/pipelines', { action: 'clone', from: payload, name: 'copy' }],
        ['PATCH', '/api/projects/shop/pipelines/p', { name: payload }],
      ] as const) {
        const a = await http(method, url, { cookie: cookies.owner, body });
        assert.equal(a.status, 400, `${method} ${url} ${JSON.stringify(body)} -> ${a.status} ${a.text.slice(0, 200)}`);
        tried++;
      }
    }
    assert.ok(tried > 200, `tried ${tried}`);
    assert.equal(await listing(), before.listing, 'a file appeared or vanished outside the projects folder');
    assert.equal(await projectsListing(), before.projects, 'a project appeared in the projects folder');
    assert.equal(await fs.readFile(canary, 'utf8'), 'CANARY CONTENT\n');
    assert.equal(await treeHash(project.root), before.tree);
  } finally {
    await fs.rm(canary, { force: true });
  }
});

test('headers only the gate may set are dropped: a spoofed principal changes nothing', async () => {
  const forged = Buffer.from(JSON.stringify({ kind: 'user', id: 'x', name: 'mallory', role: 'owner', via: 'session', credentialHash: 'x' })).toString('base64url');
  const spoof = { 'x-grimoire-principal': forged, 'X-Grimoire-Principal': forged, 'x-grimoire-client-address': '6.6.6.6' };
  assert.equal((await http('GET', '/api/projects', { headers: spoof })).status, 401);
  const me = await http('GET', '/api/auth/me', { cookie: cookies.viewer, headers: spoof });
  assert.equal(me.status, 200, me.text);
  assert.match(me.text, /"role":"viewer"/);
  assert.doesNotMatch(me.text, /mallory/);
  assert.equal((await http('POST', '/api/users', { cookie: cookies.viewer, headers: spoof, body: { name: 'mallory', role: 'owner', password: PASSWORD } })).status, 403);
});

test('an HTTP fuzz of 3,000 malformed requests over every API route: no 500, nothing changed, still answering', async () => {
  const before = { tree: await treeHash(project.root), runs: await runCount() };
  // mulberry32: deterministic, and its low bits are not periodic like a plain LCG's.
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const segments = ['%', '%E0%A4%A', '%00', '..', '%2e%2e', 'x'.repeat(3000), '%F0%9F%98%80', '%25', '\u00e9', 'CON', ';x=1', '*', '%C0%AF'];
  const bodies = ['{', '[]', 'null', '{"name":', '{"name":"\u0000"}', JSON.stringify({ name: 'x'.repeat(100_000) }), `{"variables":${'['.repeat(5000)}${']'.repeat(5000)}}`, '{"edits":[{"kind":"add_block","uuid":"../x"}],"version":"v"}', '{"content":1,"version":[]}', '\u0000\u0001', '{"a":1e999999}', '{"__proto__":{"role":"owner"}}'];
  const api = HTTP_RULES.filter((r) => !r.page);
  const who = [cookies.viewer, cookies.editor, cookies.owner, undefined];
  const tally = new Map<number, number>();
  for (let i = 0; i < 3000; i++) {
    const rule = api[rand(api.length)];
    if (!rule || rule.path === '/api/auth/logout') continue;
    const url = rule.path.replace(/\[(\w+)\]/g, () => segments[rand(segments.length)] ?? 'x').replace('/api/', rand(10) === 0 ? '/API/' : '/api/');
    const method = rand(8) === 0 ? ['OPTIONS', 'TRACE', 'PROPFIND', 'PATCH'][rand(4)] ?? 'GET' : rule.method;
    const body = method === 'GET' || method === 'OPTIONS' ? undefined : bodies[rand(bodies.length)];
    const cookie = who[rand(who.length)];
    const headers = { ...(cookie ? { cookie } : {}), ...(body !== undefined ? { 'content-type': rand(5) === 0 ? 'text/plain' : 'application/json' } : {}) };
    const a = await rawRequest(method, url, headers, body).catch((e: unknown) => {
      throw new Error(`${method} ${url.slice(0, 120)} ${String(body).slice(0, 80)}: ${e instanceof Error ? e.message : String(e)}`);
    });
    tally.set(a.status, (tally.get(a.status) ?? 0) + 1);
    assert.ok(a.status > 0 && a.status < 500, `${method} ${url.slice(0, 120)} ${String(body).slice(0, 80)} -> ${a.status} ${a.body.slice(0, 200)}`);
  }
  assert.ok((tally.get(400) ?? 0) > 100, JSON.stringify([...tally]));
  assert.equal(await treeHash(project.root), before.tree);
  assert.equal(await runCount(), before.runs);
  assert.equal((await http('GET', '/api/health')).status, 200);
});

/** A socket as a tab opens it; resolves once connected or rejects with the refusal. */
function openSocket(c: { cookie?: string; token?: string; origin?: string }): Promise<{ socket: Socket; received: ServerMessage[] }> {
  const headers: Record<string, string> = {};
  if (c.cookie) headers.cookie = c.cookie;
  if (c.origin) headers.origin = c.origin;
  const socket = connect(server.url, { transports: ['websocket'], extraHeaders: headers, auth: c.token ? { token: c.token } : {}, reconnection: false });
  sockets.push(socket);
  const received: ServerMessage[] = [];
  socket.on(SERVER_EVENT, (raw: unknown) => {
    const parsed = serverMessageSchema.safeParse(raw);
    assert.ok(parsed.success, `outside the protocol: ${JSON.stringify(raw)}`);
    received.push(parsed.data);
  });
  return new Promise((resolve, reject) => {
    socket.on('connect', () => resolve({ socket, received }));
    socket.on('connect_error', (e) => reject(e));
  });
}

async function until<T>(pick: () => T | undefined, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = pick();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('socket.io: no sign-in, a made-up session or token, or a foreign Origin is refused at the handshake', async () => {
  await assert.rejects(openSocket({}), /unauthorized/);
  await assert.rejects(openSocket({ cookie: cookies.editor, origin: 'http://evil.example' }));
  await assert.rejects(openSocket({ token: 'not-the-token' }), /unauthorized/);
  await assert.rejects(openSocket({ cookie: 'grimoire_session=made-up' }), /unauthorized/);
  const ok = await openSocket({ cookie: cookies.viewer, origin: server.url });
  ok.socket.disconnect();
});

test('a viewer cannot run, interrupt or restart; made-up names start no kernel', async () => {
  const viewer = await openSocket({ cookie: cookies.viewer, origin: server.url });
  viewer.socket.emit(CLIENT_EVENT, { type: 'run_block', project: 'shop', pipeline: 'p', block: 'load' });
  const refused = await until(() => viewer.received.find((m) => m.type === 'error'), 'a refusal');
  assert.equal(refused.type === 'error' && refused.code, 'forbidden');
  const editor = await openSocket({ cookie: cookies.editor, origin: server.url });
  const kernelsBefore = await childCount();
  for (let i = 0; i < 18; i++) {
    for (const type of ['restart', 'interrupt'] as const) editor.socket.emit(CLIENT_EVENT, { type, project: i % 2 ? `../../x${i}` : `made_up_${i}`, pipeline: `p${i}` });
    editor.socket.emit(CLIENT_EVENT, { type: 'query_output', project: `made_up_${i}`, pipeline: 'p', block: 'b', requestId: `q${i}`, query: { kind: 'page', offset: 0, limit: 10 } });
    editor.socket.emit(CLIENT_EVENT, { type: 'run_block', project: `made_up_${i}`, pipeline: 'p', block: 'b' });
  }
  await until(() => (editor.received.filter((m) => m.type === 'error' || m.type === 'output_answer').length >= 18 * 2 ? true : undefined), 'answers to made-up names');
  // A block name is never a path: another user's cache, a run's cache, a file anywhere.
  for (const block of ['../../start-token/p/load', '../../../../runs/x/cache/load', '../../../../../../../../tmp/private']) {
    viewer.received.length = 0;
    viewer.socket.emit(CLIENT_EVENT, { type: 'query_output', project: 'shop', pipeline: 'p', block, requestId: 'trav', query: { kind: 'page', offset: 0, limit: 10 } });
    const answer = await until(() => viewer.received.find((m) => m.type === 'error' || m.type === 'output_answer'), 'an answer to a path as a block');
    assert.equal(answer.type, 'error', JSON.stringify(answer));
    assert.equal(answer.type === 'error' && answer.code, 'invalid_input');
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await childCount(), kernelsBefore, 'a made-up name started a process');
  assert.equal(viewer.received.filter((m) => m.type === 'block_status').length, 0);
  viewer.socket.disconnect();
  editor.socket.disconnect();
});

async function childCount(): Promise<number> {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

test('a socket fuzz of 10,000 malformed or unauthorised messages: every one refused, none accepted, the server still answers', async () => {
  const viewer = await openSocket({ cookie: cookies.viewer, origin: server.url });
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const junk = (i: number): unknown => {
    switch (rand(12)) {
      case 0: return null;
      case 1: return i;
      case 2: return 'x'.repeat(rand(5000));
      case 3: return [CLIENT_EVENT, { type: 'subscribe' }];
      case 4: return { type: 'no_such_type', project: 'shop', pipeline: 'p' };
      case 5: return { type: 'subscribe', project: 'shop' };
      case 6: return { type: 'run_block', project: 'shop', pipeline: 'p', block: 'load' };
      case 7: return { type: 'restart', project: 'shop', pipeline: 'p' };
      case 8: return { type: 'run_pipeline', project: 'shop', pipeline: 'p', variables: { a: { b: { c: [1, 2, { d: null }] } } } };
      case 9: return { type: 'query_output', project: 'shop', pipeline: 'p', block: 'load', requestId: '', query: { kind: 'page' } };
      case 10: return { type: 'subscribe', project: 'x'.repeat(300), pipeline: 'p' };
      default: return { type: 'watch_run', runId: 42 };
    }
  };
  const N = 10_000;
  for (let i = 0; i < N; i++) viewer.socket.emit(CLIENT_EVENT, junk(i));
  await until(() => (viewer.received.length >= N ? true : undefined), `${N} replies (have ${viewer.received.length})`, 120_000);
  const accepted = viewer.received.filter((m) => m.type !== 'error');
  assert.equal(accepted.length, 0, JSON.stringify(accepted.slice(0, 3)));
  assert.equal(viewer.received.length, N);
  // Still answering, and the pipeline is still there to subscribe to.
  viewer.received.length = 0;
  viewer.socket.emit(CLIENT_EVENT, { type: 'subscribe', project: 'shop', pipeline: 'p' });
  viewer.socket.emit(CLIENT_EVENT, { type: 'run_block', project: 'shop', pipeline: 'p', block: 'load' });
  await until(() => viewer.received.find((m) => m.type === 'error'), 'the server still answering');
  assert.equal((await http('GET', '/api/health')).status, 200);
  viewer.socket.disconnect();
});

test('two users have their own kernels: one user’s run, logs and restart never reach the other', async () => {
  const ed = await openSocket({ cookie: cookies.editor, origin: server.url });
  const olga = await openSocket({ cookie: cookies.owner, origin: server.url });
  for (const s of [ed, olga]) s.socket.emit(CLIENT_EVENT, { type: 'subscribe', project: 'shop', pipeline: 'p' });
  await new Promise((r) => setTimeout(r, 200));
  ed.socket.emit(CLIENT_EVENT, { type: 'run_block', project: 'shop', pipeline: 'p', block: 'slow' });
  await until(() => ed.received.find((m) => m.type === 'log' && m.text.includes('slow started')), 'ed’s block to start');
  // Olga restarts her kernel while ed's block runs: ed's run goes on.
  olga.socket.emit(CLIENT_EVENT, { type: 'run_block', project: 'shop', pipeline: 'p', block: 'load' });
  olga.socket.emit(CLIENT_EVENT, { type: 'restart', project: 'shop', pipeline: 'p' });
  const done = await until(() => ed.received.find((m) => m.type === 'block_status' && m.block === 'slow' && (m.status === 'completed' || m.status === 'failed')), 'ed’s block to end');
  assert.equal(done.type === 'block_status' && done.status, 'completed');
  assert.equal(olga.received.some((m) => (m.type === 'log' || m.type === 'block_status' || m.type === 'output') && m.block === 'slow'), false, 'olga saw ed’s run');
  assert.equal(ed.received.some((m) => m.type === 'block_status' && m.block === 'load'), false, 'ed saw olga’s run');
  // A saved file is news to every tab of the pipeline.
  const file = await http('GET', '/api/projects/shop/pipelines/p/blocks/load', { cookie: cookies.editor });
  const version = file.json && typeof file.json === 'object' && 'version' in file.json ? String(file.json.version) : '';
  const saved = await http('PUT', '/api/projects/shop/pipelines/p/blocks/load', { cookie: cookies.editor, body: { content: 'SELECT range AS n FROM range(6)\n', version } });
  assert.equal(saved.status, 200, saved.text);
  await until(() => olga.received.find((m) => m.type === 'file_changed'), 'olga to hear of the save');
  ed.socket.disconnect();
  olga.socket.disconnect();
});

test('failed sign-ins are throttled, then even the right password waits', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await http('POST', '/api/auth/login', { body: { username: 'vic', password: 'wrong password' } })).status, 401);
  const unknown = await http('POST', '/api/auth/login', { body: { username: 'nobody-at-all', password: 'wrong password' } });
  assert.equal(unknown.status, 401);
  assert.equal(errorCode(unknown), 'unauthorized');
  const right = await http('POST', '/api/auth/login', { body: { username: 'vic', password: PASSWORD } });
  assert.equal(right.status, 429, right.text);
  // Everyone else at the same address still signs in: one guesser locks out one account, not all.
  assert.equal((await http('POST', '/api/auth/login', { body: { username: 'olga', password: PASSWORD } })).status, 200);
});

test('an editor may add an API trigger, but only an owner makes its token', async () => {
  const body = { name: 'hook_by_editor', schedule_type: 'api' };
  const byEditor = await http('POST', '/api/projects/shop/pipelines/p/triggers', { cookie: cookies.editor, body });
  assert.equal(byEditor.status, 200, byEditor.text);
  assert.match(byEditor.text, /"token":null/);
  assert.equal((await http('POST', '/api/projects/shop/pipelines/p/triggers/hook_by_editor/token', { cookie: cookies.editor, headers: { 'content-type': 'application/json' } })).status, 403);
  const minted = await http('POST', '/api/projects/shop/pipelines/p/triggers/hook_by_editor/token', { cookie: cookies.owner, headers: { 'content-type': 'application/json' } });
  assert.equal(minted.status, 200, minted.text);
  assert.equal((await http('DELETE', '/api/projects/shop/pipelines/p/triggers/hook_by_editor', { cookie: cookies.editor, headers: { 'content-type': 'application/json' } })).status, 200);
});

test('personal API tokens: shown once, work as bearer tokens, end when revoked', async () => {
  const made = await http('POST', '/api/tokens', { cookie: cookies.editor, body: { name: 'ci script' } });
  assert.equal(made.status, 201, made.text);
  const body = made.json;
  assert.ok(body && typeof body === 'object' && 'token' in body && 'id' in body);
  const personal = String(body.token);
  assert.match(personal, /^grm_/);
  assert.equal((await http('GET', '/api/projects', { bearer: personal })).status, 200);
  const listed = await http('GET', '/api/tokens', { cookie: cookies.editor });
  assert.ok(!listed.text.includes(personal), 'the token was listed');
  assert.equal((await http('POST', '/api/users', { bearer: personal, body: { name: 'x1', role: 'owner', password: PASSWORD } })).status, 403);
  assert.equal((await http('DELETE', `/api/tokens/${String(body.id)}`, { cookie: cookies.editor, headers: { 'content-type': 'application/json' } })).status, 200);
  assert.equal((await http('GET', '/api/projects', { bearer: personal })).status, 401);
  // Viewers have no tokens.
  assert.equal((await http('POST', '/api/tokens', { cookie: cookies.viewer, body: { name: 'nope' } })).status, 403);
});

test('a removed user or a changed role ends sessions at once, sockets included', async () => {
  const signedIn = await http('POST', '/api/auth/login', { body: { username: 'ed', password: PASSWORD } });
  const edCookie = sessionCookieOf(signedIn);
  const ed = await openSocket({ cookie: edCookie, origin: server.url });
  const disconnected = new Promise<void>((resolve) => ed.socket.on('disconnect', () => resolve()));
  assert.equal((await http('PATCH', '/api/users/ed', { cookie: cookies.owner, body: { role: 'viewer' } })).status, 200);
  await Promise.race([disconnected, new Promise((_r, reject) => setTimeout(() => reject(new Error('the socket stayed open')), 5000))]);
  assert.equal((await http('GET', '/api/projects', { cookie: edCookie })).status, 401);
  assert.equal((await http('DELETE', '/api/users/ed', { cookie: cookies.owner, headers: { 'content-type': 'application/json' } })).status, 200);
  const again = await http('POST', '/api/auth/login', { body: { username: 'ed', password: PASSWORD } });
  assert.equal(again.status, 401);
  // The last owner stays.
  const owners = await http('DELETE', '/api/users/olga', { cookie: cookies.owner, headers: { 'content-type': 'application/json' } });
  assert.equal(owners.status, 409, owners.text);
});

test('with users, a random start token no longer signs in, and the audit log says who did what', async () => {
  // This server's token was random (no GRIMOIRE_TOKEN) and users now exist.
  assert.equal((await http('GET', '/api/projects', { bearer: token })).status, 401);
  const link = await http('GET', `/?token=${token}`);
  assert.equal(link.status, 303);
  assert.match(link.headers.get('location') ?? '', /^\/login\?error=token/);
  const audit = await http('GET', '/api/audit', { cookie: cookies.owner });
  assert.equal(audit.status, 200);
  const text = audit.text;
  for (const action of ['"sign_in"', '"sign_in_failed"', '"file_saved"', '"run_started"', '"user_added"', '"user_changed"', '"user_removed"', '"api_token_created"', '"api_token_revoked"']) assert.ok(text.includes(action), `${action} missing`);
  assert.ok(text.includes('"actor":"ed"'));
  // Creates and changes name what they made or changed.
  assert.ok(text.includes('"target":"vic as viewer"'), 'user_added without its name');
  assert.ok(text.includes('"target":"ed/role viewer"'), 'user_changed without the new role');
  assert.match(text, /"action":"api_token_created","target":"ci script \(/);
  assert.equal((await http('GET', '/api/audit', { cookie: cookies.viewer })).status, 403);
  assert.ok(!text.includes(PASSWORD), 'a password reached the audit log');
});
