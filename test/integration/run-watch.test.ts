import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { after, before, test } from 'node:test';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { CLIENT_EVENT, SERVER_EVENT, serverMessageSchema, type ClientMessage } from '../../lib/protocol/messages';
import { Gateway } from '../../lib/server/gateway';
import { watchRunChanges } from '../../lib/server/run-watch';
import { type Store } from '../../lib/store/store';
import { testStore } from '../support/store';
import { fixedAccess } from '../support/socket-access';
import { writeProject } from '../support/write-project';

let env: Awaited<ReturnType<typeof testStore>>;
let store: Store;
let http: HttpServer;
let gateway: Gateway;
let stopWatch: () => Promise<void>;
let project: Awaited<ReturnType<typeof writeProject>>;
let port = 0;
const sockets: Socket[] = [];

before(async () => {
  env = await testStore();
  store = env.store;
  project = await writeProject('shop', { 'pipelines/orders/metadata.yaml': 'blocks: []\n' });
  http = createServer();
  const io = new Server(http);
  gateway = new Gateway(io, project.root, { access: fixedAccess() });
  stopWatch = await watchRunChanges(io, store, 50);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  port = address && typeof address === 'object' ? address.port : 0;
});

after(async () => {
  for (const s of sockets) s.disconnect();
  await stopWatch?.();
  await gateway?.close();
  await new Promise<void>((resolve) => http?.close(() => resolve()));
  await env?.close();
  await project?.cleanup();
});

/** A browser tab that watches something and records the runs it was told about. */
async function tab(watch: ClientMessage): Promise<{ changes: { runId: string; state: boolean; logs: boolean }[] }> {
  const socket = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  sockets.push(socket);
  const changes: { runId: string; state: boolean; logs: boolean }[] = [];
  socket.on(SERVER_EVENT, (raw: unknown) => {
    const m = serverMessageSchema.safeParse(raw);
    assert.ok(m.success, `outside the protocol: ${JSON.stringify(raw)}`);
    if (m.data.type === 'run_changed') changes.push({ runId: m.data.runId, state: m.data.state, logs: m.data.logs });
  });
  await new Promise<void>((resolve) => socket.on('connect', resolve));
  socket.emit(CLIENT_EVENT, watch);
  // The join is handled in order with later messages; give it a round trip.
  await new Promise((r) => setTimeout(r, 100));
  return { changes };
}

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a run page hears its run change, its logs arrive and other runs stay silent, whichever process wrote', async () => {
  const run = await store.runs.create({ project: 'shop', pipeline: 'orders', kind: 'manual', executionDate: new Date() });
  const other = await store.runs.create({ project: 'shop', pipeline: 'orders', kind: 'manual', executionDate: new Date() });
  assert.ok(run && other);
  const page = await tab({ type: 'watch_run', runId: run.id });
  // Another process (a `grimoire worker`) has its own connection to the database.
  const worker = await env.open();
  await worker.blockRuns.ensure(run.id, ['load']);
  await worker.blockRuns.setStatus(run.id, 'load', 'running', new Date());
  await until('the block change', () => page.changes.some((c) => c.runId === run.id && c.state && !c.logs));
  // The block-run insert and its status change may ring in two folds: let both arrive first.
  await new Promise((r) => setTimeout(r, 300));
  const before = page.changes.length;
  await worker.logs.append(Array.from({ length: 500 }, (_, i) => ({ runId: run.id, block: 'load', attempt: 1, at: new Date(), stream: 'stdout', text: `line ${i}` })));
  await until('the logs change', () => page.changes.slice(before).some((c) => c.logs));
  assert.ok(page.changes.slice(before).every((c) => !c.state), 'log lines alone do not say the run changed');
  assert.ok(page.changes.length - before <= 2, `500 lines in one insert ring once, not ${page.changes.length - before} times`);
  await worker.runs.setStatus(other.id, 'completed', new Date());
  await worker.runs.setStatus(run.id, 'completed', new Date());
  await until('the finished run', () => page.changes.length > before + 1);
  assert.ok(page.changes.every((c) => c.runId === run.id), 'only the watched run');
});

test('a runs list hears runs of its pipeline being created, and not those of another pipeline', async () => {
  const list = await tab({ type: 'watch_runs', project: 'shop', pipeline: 'orders' });
  const elsewhere = await store.runs.create({ project: 'shop', pipeline: 'returns', kind: 'manual', executionDate: new Date() });
  const mine = await store.runs.create({ project: 'shop', pipeline: 'orders', kind: 'api', executionDate: new Date() });
  assert.ok(mine && elsewhere);
  await until('the new run', () => list.changes.some((c) => c.runId === mine.id));
  assert.ok(!list.changes.some((c) => c.runId === elsewhere.id));
});
