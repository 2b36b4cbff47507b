/**
 * A dynamic block's children over the socket: the notebook asks for one child's output by its run
 * name (`per_item:1`), the server asks the kernel for that output, and a tab that arrives later is
 * told the children too.
 */
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
let port = 0;
let project: Awaited<ReturnType<typeof writeProject>>;

before(async () => {
  project = await writeProject('fan', {
    'pipelines/p/metadata.yaml': `blocks:
  - uuid: items
    type: data_loader
    language: typescript
    configuration: { dynamic: true }
  - uuid: per_item
    type: transformer
    language: sql
    upstream_blocks: [items]
`,
    'data_loaders/items.ts': "export default async function items() {\n  return [{ n: 10, name: 'ten' }, { n: 20, name: 'twenty' }, { n: 30, name: 'thirty' }];\n}\n",
    'transformers/per_item.sql': 'SELECT n * 2 AS doubled, name FROM {{ df_1 }}\n',
  });
  http = createServer();
  gateway = new Gateway(new Server(http), project.root, { access: fixedAccess() });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  port = address && typeof address === 'object' ? address.port : 0;
});

after(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await project?.cleanup();
});

async function client(): Promise<{ socket: Socket; seen: ServerMessage[] }> {
  const socket = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  const seen: ServerMessage[] = [];
  socket.on(SERVER_EVENT, (raw: unknown) => {
    const parsed = serverMessageSchema.safeParse(raw);
    assert.ok(parsed.success, `server sent a message outside the protocol: ${JSON.stringify(raw)}`);
    seen.push(parsed.data);
  });
  await new Promise<void>((resolve) => socket.on('connect', resolve));
  return { socket, seen };
}

async function waitFor<T extends ServerMessage>(seen: ServerMessage[], pick: (m: ServerMessage) => m is T, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = seen.find(pick);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out; received: ${JSON.stringify(seen.map((m) => m.type))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Of<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

test('a child\'s output is asked for by its run name; names that are no block run are refused', async () => {
  const { socket, seen } = await client();
  try {
    socket.emit(CLIENT_EVENT, { type: 'subscribe', project: 'fan', pipeline: 'p' });
    socket.emit(CLIENT_EVENT, { type: 'run_pipeline', project: 'fan', pipeline: 'p' });
    const added = await waitFor(seen, (m): m is Of<'block_runs_added'> => m.type === 'block_runs_added');
    assert.deepEqual(added.blocks.map((b) => [b.name, b.block]), [['per_item:0', 'per_item'], ['per_item:1', 'per_item'], ['per_item:2', 'per_item']]);
    const done = await waitFor(seen, (m): m is Of<'run_status'> => m.type === 'run_status' && m.status !== 'running');
    assert.equal(done.status, 'completed');

    socket.emit(CLIENT_EVENT, { type: 'query_output', project: 'fan', pipeline: 'p', block: 'per_item:1', requestId: 'q1', query: { kind: 'page', offset: 0, limit: 10, sort: { column: 'doubled', direction: 'desc' } } });
    const answer = await waitFor(seen, (m): m is Of<'output_answer'> => m.type === 'output_answer' && m.requestId === 'q1');
    assert.equal(answer.block, 'per_item:1');
    assert.ok(answer.result.ok && answer.result.answer.kind === 'page', JSON.stringify(answer.result));
    assert.deepEqual(answer.result.answer.rows, [{ doubled: 40, name: 'twenty' }]);

    // A child that never ran is "no output yet", not an error of the server.
    socket.emit(CLIENT_EVENT, { type: 'query_output', project: 'fan', pipeline: 'p', block: 'per_item:7', requestId: 'q2', query: { kind: 'page', offset: 0, limit: 10 } });
    const none = await waitFor(seen, (m): m is Of<'output_answer'> => m.type === 'output_answer' && m.requestId === 'q2');
    assert.ok(!none.result.ok && /has no output yet/.test(none.result.message), JSON.stringify(none.result));

    socket.emit(CLIENT_EVENT, { type: 'query_output', project: 'fan', pipeline: 'p', block: 'per_item.1/../x', requestId: 'q3', query: { kind: 'page', offset: 0, limit: 10 } });
    const refused = await waitFor(seen, (m): m is Of<'error'> => m.type === 'error' && /malformed message/.test(m.message));
    assert.equal(refused.code, 'invalid_input');
  } finally {
    socket.disconnect();
  }
});

test('a tab that subscribes later is told the children, after what their names showed', async () => {
  const { socket, seen } = await client();
  try {
    socket.emit(CLIENT_EVENT, { type: 'subscribe', project: 'fan', pipeline: 'p' });
    const added = await waitFor(seen, (m): m is Of<'block_runs_added'> => m.type === 'block_runs_added');
    assert.equal(added.parent, 'items');
    const index = seen.indexOf(added);
    // Each child's latest status comes after the fan-out that made it, so the page's state ends as completed.
    const childStatus = seen.findIndex((m) => m.type === 'block_status' && m.block === 'per_item:2' && m.status === 'completed');
    assert.ok(childStatus > index, `order: ${JSON.stringify(seen.map((m) => ('block' in m ? `${m.type}:${m.block}` : m.type)))}`);
  } finally {
    socket.disconnect();
  }
});
