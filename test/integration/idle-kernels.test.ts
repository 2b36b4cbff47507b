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
let project: Awaited<ReturnType<typeof writeProject>>;
let port = 0;

before(async () => {
  project = await writeProject('shop', {
    'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: load, type: data_loader, language: sql }\n',
    'data_loaders/load.sql': 'SELECT 1 AS n\n',
  });
  http = createServer();
  gateway = new Gateway(new Server(http), project.root, { access: fixedAccess('editor'), idleKernelMs: 300 });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  port = address && typeof address === 'object' ? address.port : 0;
});

after(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await project?.cleanup();
});

test('a kernel stays while a tab shows it, and stops once no tab does and nothing runs', async () => {
  const socket: Socket = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  const received: ServerMessage[] = [];
  socket.on(SERVER_EVENT, (raw: unknown) => {
    const parsed = serverMessageSchema.safeParse(raw);
    if (parsed.success) received.push(parsed.data);
  });
  await new Promise<void>((resolve) => socket.on('connect', resolve));
  socket.emit(CLIENT_EVENT, { type: 'subscribe', project: 'shop', pipeline: 'p' });
  socket.emit(CLIENT_EVENT, { type: 'run_block', project: 'shop', pipeline: 'p', block: 'load' });
  const deadline = Date.now() + 30_000;
  while (!received.some((m) => m.type === 'block_status' && m.status === 'completed')) {
    assert.ok(Date.now() < deadline, JSON.stringify(received.map((m) => m.type)));
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(gateway.openSessions, 1);
  // Well past the idle time, but the tab is still open: the kernel stays.
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(await gateway.stopIdleKernels(Date.now() + 10_000), 0);
  assert.equal(gateway.openSessions, 1);
  socket.disconnect();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await gateway.stopIdleKernels(Date.now() + 20_000), 1);
  assert.equal(gateway.openSessions, 0);
});
