import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { after, before, test } from 'node:test';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { CLIENT_EVENT, SERVER_EVENT, serverMessageSchema, type ServerMessage } from '../../lib/protocol/messages';
import { Gateway } from '../../lib/server/gateway';
import { fixedAccess } from '../support/socket-access';
import { writeProject } from '../support/write-project';

let http: HttpServer;
let gateway: Gateway;
let socket: Socket;
let project: Awaited<ReturnType<typeof writeProject>>;
const received: ServerMessage[] = [];

before(async () => {
  project = await writeProject('shop', {
    'pipelines/orders/metadata.yaml': `blocks:
  - uuid: load
    type: data_loader
    language: sql
  - uuid: boom
    type: transformer
    language: typescript
    upstream_blocks: [load]
`,
    'data_loaders/load.sql': 'SELECT range AS id, range * 2 AS doubled FROM range(25)\n',
    'transformers/boom.ts': `export default function boom(rows: DataFrame) {
  console.log('about to fail');
  throw new Error('no orders today');
}
`,
  });
  http = createServer();
  const io = new Server(http);
  gateway = new Gateway(io, project.root, { access: fixedAccess() });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  socket = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  socket.on(SERVER_EVENT, (raw: unknown) => {
    const parsed = serverMessageSchema.safeParse(raw);
    assert.ok(parsed.success, `server sent a message outside the protocol: ${JSON.stringify(raw)}`);
    received.push(parsed.data);
  });
  await new Promise<void>((resolve) => socket.on('connect', resolve));
});

after(async () => {
  socket?.disconnect();
  await gateway?.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await project?.cleanup();
});

async function waitFor<T extends ServerMessage>(pick: (m: ServerMessage) => m is T, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = received.find(pick);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out; received: ${JSON.stringify(received.map((m) => m.type))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const isError = (m: ServerMessage): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error';

test('a malformed message gets an error reply and the server keeps answering', async () => {
  received.length = 0;
  socket.emit(CLIENT_EVENT, { type: 'run_block', project: 'shop' });
  socket.emit(CLIENT_EVENT, 'not even an object');
  const error = await waitFor(isError);
  assert.equal(error.code, 'invalid_input');
  assert.match(error.message, /malformed message/);
  await waitFor((m): m is ServerMessage => received.filter(isError).length === 2);
  assert.equal(received.filter(isError).length, 2);
  // Still serving: a well-formed message is dispatched (and answered with its own error).
  received.length = 0;
  socket.emit(CLIENT_EVENT, { type: 'run_block', project: 'shop', pipeline: 'orders', block: 'nope' });
  const next = await waitFor(isError);
  assert.match(next.message, /block "nope" is not in this pipeline/);
});

test('an invalid message is logged once with where and what was wrong, never its values', async (t) => {
  const warnings: string[] = [];
  t.mock.method(console, 'warn', (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  });
  const bad = { type: 'run_block', project: 'shop', pipeline: 'orders', block: 'password=hunter2 ../x', variables: { token: 'tok-123' } };
  for (let i = 0; i < 3; i++) {
    received.length = 0;
    socket.emit(CLIENT_EVENT, bad);
    await waitFor(isError);
  }
  received.length = 0;
  let deep: unknown = 'bottom-value';
  for (let i = 0; i < 70; i++) deep = [deep];
  socket.emit(CLIENT_EVENT, deep);
  await waitFor(isError);
  const about = warnings.filter((w) => w.startsWith('gateway: client message'));
  assert.equal(about.length, 2, `expected one warning per problem, got:\n${warnings.join('\n')}`);
  assert.match(about[0] ?? '', /^gateway: client message dropped as invalid: block: a block name is letters, digits and _$/);
  assert.match(about[1] ?? '', /nests deeper than 64 levels/);
  for (const w of warnings) assert.doesNotMatch(w, /hunter2|tok-123|bottom-value/);
});

test('unknown projects, unknown pipelines and paths that leave the projects folder are refused by name', async () => {
  for (const [project, pipeline, code, text] of [
    ['nope', 'orders', 'not_found', /project "nope" not found/],
    ['shop', 'missing', 'not_found', /pipeline "missing" not found/],
    ['..', 'orders', 'invalid_input', /project: a project or pipeline name is letters/],
    ['../shop', 'orders', 'invalid_input', /project: a project or pipeline name is letters/],
  ] as const) {
    received.length = 0;
    socket.emit(CLIENT_EVENT, { type: 'subscribe', project, pipeline });
    const error = await waitFor(isError);
    assert.equal(error.code, code);
    assert.match(error.message, text);
  }
});

test('run_block streams statuses and a preview; a throwing block reports its file line and logs', async () => {
  received.length = 0;
  socket.emit(CLIENT_EVENT, { type: 'subscribe', project: 'shop', pipeline: 'orders' });
  socket.emit(CLIENT_EVENT, { type: 'run_with_upstream', project: 'shop', pipeline: 'orders', block: 'boom' });
  const output = await waitFor((m): m is Extract<ServerMessage, { type: 'output' }> => m.type === 'output' && m.block === 'load');
  assert.equal(output.preview.rowCount, 25);
  assert.deepEqual(output.preview.columns.map((c) => c.name), ['id', 'doubled']);
  assert.equal(output.preview.rows.length, 10);
  const failure = await waitFor((m): m is Extract<ServerMessage, { type: 'block_error' }> => m.type === 'block_error');
  assert.equal(failure.block, 'boom');
  assert.equal(failure.error.file, 'transformers/boom.ts');
  assert.equal(failure.error.line, 3);
  assert.match(failure.error.message, /no orders today/);
  const log = await waitFor((m): m is Extract<ServerMessage, { type: 'log' }> => m.type === 'log' && m.block === 'boom');
  assert.equal(log.text, 'about to fail\n');
  const statuses = received.flatMap((m) => (m.type === 'block_status' ? [`${m.block}:${m.status}`] : []));
  assert.deepEqual(statuses, ['load:queued', 'boom:queued', 'load:running', 'load:completed', 'boom:running', 'boom:failed']);
  const run = await waitFor((m): m is Extract<ServerMessage, { type: 'run_status' }> => m.type === 'run_status' && m.status !== 'running');
  assert.equal(run.status, 'failed');
});

test('a subscriber that arrives later catches up on each block\'s latest state', async () => {
  const late = connect(`http://127.0.0.1:${(() => {
    const a = http.address();
    return a && typeof a === 'object' ? a.port : 0;
  })()}`, { transports: ['websocket'] });
  const seen: ServerMessage[] = [];
  late.on(SERVER_EVENT, (raw: unknown) => {
    const parsed = serverMessageSchema.safeParse(raw);
    if (parsed.success) seen.push(parsed.data);
  });
  await new Promise<void>((resolve) => late.on('connect', resolve));
  late.emit(CLIENT_EVENT, { type: 'subscribe', project: 'shop', pipeline: 'orders' });
  const deadline = Date.now() + 5000;
  while (!seen.some((m) => m.type === 'block_error') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  late.disconnect();
  assert.ok(seen.some((m) => m.type === 'output' && m.block === 'load' && m.preview.rowCount === 25));
  assert.ok(seen.some((m) => m.type === 'block_status' && m.block === 'boom' && m.status === 'failed'));
  assert.ok(seen.some((m) => m.type === 'block_error' && m.block === 'boom'));
});
