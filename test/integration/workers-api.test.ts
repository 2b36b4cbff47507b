/**
 * GET /api/workers against a real Postgres: rows of the `workers` table with known silences (in the
 * database's clock) and runs running on them, then the JSON the workers page reads: the order
 * (alive, draining, late, then the most recently ended), the late state, what each runs now, the
 * lost one's moved runs, the cap on ended rows; and the route behind the real access gate
 * (anonymous 401, the page itself a redirect to sign-in, a viewer's session 200).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import { after, before, test } from 'node:test';
import { GET as getWorkers } from '../../app/api/workers/route';
import { AccessStore } from '../../lib/access/access-store';
import { type AccessContext } from '../../lib/access/context';
import { createGate } from '../../lib/access/gate';
import { SignInThrottle } from '../../lib/access/throttle';
import { systemClock } from '../../lib/clock';
import { workersResponseSchema, type WorkersResponse, type WorkerViewJson } from '../../lib/protocol/workers-api';
import { setOrchestration } from '../../lib/scheduler/slot';
import { type Store } from '../../lib/store/store';
import { HEARTBEAT_MS, LOST_AFTER_SECONDS } from '../../lib/store/worker-repository';
import { call, errorCode } from '../support/http-client';
import { gatePrincipalHeaders } from '../support/socket-access';
import { testStore } from '../support/store';

let db: Awaited<ReturnType<typeof testStore>>;
let store: Store;
let http: Server | undefined;

/** Silences well past the lost timeout, whatever GRIMOIRE_LOST_AFTER_SECONDS says. */
const LONG = LOST_AFTER_SECONDS + 20;
const OLD_STOPPED = 60;

interface Row {
  kind?: string;
  status: string;
  /** Seconds since the last heartbeat, by the database's clock. */
  silent: number;
  /** Seconds since it started. */
  started: number;
  /** Seconds since it stopped or was found lost. */
  stopped?: number;
  host?: string;
  pid?: number;
  version?: string;
  queues?: string[];
  concurrency?: number;
  memory?: number;
  completed?: number;
  failed?: number;
  moved?: string[];
}

async function worker(id: string, r: Row): Promise<void> {
  await store.pool.query(
    `INSERT INTO workers (id, kind, host, pid, version, queues, concurrency, status, started_at, heartbeat_at, stopped_at, memory_rss, runs_completed, runs_failed, moved_runs)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() - make_interval(secs => $9), now() - make_interval(secs => $10),
             CASE WHEN $11::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $11) END, $12, $13, $14, $15)`,
    [
      id,
      r.kind ?? 'worker',
      r.host ?? 'h',
      r.pid ?? 1,
      r.version ?? 'v',
      r.queues ?? [],
      r.concurrency ?? 0,
      r.status,
      r.started,
      r.silent,
      r.stopped ?? null,
      r.memory ?? 0,
      r.completed ?? 0,
      r.failed ?? 0,
      r.moved ?? [],
    ],
  );
}

const T = new Date('2026-03-01T12:00:00.000Z');

async function run(id: string, pipeline: string, status: string, workerId: string | null, startedSecondsAfterT: number | null): Promise<void> {
  await store.pool.query(
    `INSERT INTO pipeline_runs (id, project, pipeline, kind, execution_date, status, worker_id, started_at) VALUES ($1, 'p', $2, 'api', $3, $4, $5, $6)`,
    [id, pipeline, T, status, workerId, startedSecondsAfterT === null ? null : new Date(T.getTime() + startedSecondsAfterT * 1000)],
  );
}

before(async () => {
  db = await testStore();
  store = db.store;
  setOrchestration({ store, scheduler: null, worker: null, projectsDir: '', clock: systemClock, triggersChanged: () => undefined, close: async () => undefined });
  // Silence counts from the database's start at the latest (as the store's lost-worker rule): on
  // a just-started embedded Postgres, wait until a late row can show, before the rows are written.
  for (;;) {
    const up = await store.pool.query<{ s: number }>('SELECT EXTRACT(EPOCH FROM now() - pg_postmaster_start_time())::float8 AS s');
    if ((up.rows[0]?.s ?? 0) > LONG + 1) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await worker('w-server', { kind: 'server', status: 'alive', silent: 0, started: 200, host: 'web-1', pid: 10 });
  await worker('w-busy', {
    status: 'alive',
    silent: 0,
    started: 100,
    host: 'box-b',
    pid: 4242,
    version: '1.2.3',
    queues: ['default', 'heavy'],
    concurrency: 4,
    memory: 256 * 1024 * 1024,
    completed: 3,
    failed: 1,
  });
  await worker('w-draining', { status: 'draining', silent: 1, started: 50 });
  await worker('w-late', { status: 'alive', silent: LONG, started: 400 });
  await worker('w-late-draining', { status: 'draining', silent: LONG, started: 300 });
  await worker('w-lost', { status: 'lost', silent: 300, started: 900, stopped: 200, moved: ['run-moved-1', 'run-moved-2'] });
  await worker('w-stopped', { kind: 'cli', status: 'stopped', silent: 10, started: 20, stopped: 10 });
  for (let i = 0; i < OLD_STOPPED; i++) {
    const n = String(i).padStart(2, '0');
    await worker(`w-old-${n}`, { status: 'stopped', silent: 1000 + i, started: 5000, stopped: 1000 + i });
  }
  // w-busy runs two (listed oldest start first); a finished one and an initial one are not "running now".
  await run('run-b2', 'slow', 'running', 'w-busy', 5);
  await run('run-b1', 'fast', 'running', 'w-busy', 2);
  await run('run-done', 'fast', 'completed', 'w-busy', 1);
  await run('run-waiting', 'fast', 'initial', null, null);
  // A late worker still holds its run: that is what the page must show.
  await run('run-late', 'slow', 'running', 'w-late', 0);
});

after(async () => {
  setOrchestration(undefined);
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await db?.close();
});

const request = (query = '') => new Request(`http://grimoire.test/api/workers${query}`, { headers: gatePrincipalHeaders('viewer') });

async function page(query = ''): Promise<WorkersResponse> {
  const answer = await getWorkers(request(query));
  assert.equal(answer.status, 200, await answer.clone().text());
  // The page validates the answer with this schema: the server must always fit it.
  return workersResponseSchema.parse(await answer.json());
}

function byId(data: WorkersResponse, id: string): WorkerViewJson {
  const w = data.workers.find((x) => x.id === id);
  assert.ok(w, `${id} is not listed: ${data.workers.map((x) => x.id).join(', ')}`);
  return w;
}

test('alive first, then draining, then late (each by start, oldest first), then ended ones most recent first; at most 50 ended', async () => {
  const data = await page();
  const ids = data.workers.map((w) => w.id);
  assert.deepEqual(ids.slice(0, 7), ['w-server', 'w-busy', 'w-draining', 'w-late', 'w-late-draining', 'w-stopped', 'w-lost']);
  assert.deepEqual(ids.slice(7), Array.from({ length: 48 }, (_, i) => `w-old-${String(i).padStart(2, '0')}`));
  assert.equal(data.workers.filter((w) => w.status === 'stopped' || w.status === 'lost').length, 50);
  assert.equal(data.endedNotShown, OLD_STOPPED + 2 - 50);
  assert.equal(data.lostAfterSeconds, LOST_AFTER_SECONDS);
  assert.equal(data.heartbeatMs, HEARTBEAT_MS);
});

test('a live process silent past the lost timeout is shown late, with its stored status kept; a fresh one is alive', async () => {
  const data = await page();
  const late = byId(data, 'w-late');
  assert.equal(late.status, 'alive');
  assert.equal(late.shownStatus, 'late');
  assert.ok(late.silentSeconds >= LONG && late.silentSeconds < LONG + 10, String(late.silentSeconds));
  const lateDraining = byId(data, 'w-late-draining');
  assert.equal(lateDraining.status, 'draining');
  assert.equal(lateDraining.shownStatus, 'late');
  assert.equal(byId(data, 'w-draining').shownStatus, 'draining');
  assert.ok(byId(data, 'w-draining').silentSeconds >= 1);
  const fresh = byId(data, 'w-server');
  assert.equal(fresh.shownStatus, 'alive');
  assert.ok(fresh.silentSeconds >= 0 && fresh.silentSeconds < 5, String(fresh.silentSeconds));
  // An ended process is never late: its status stands, however long it has been silent.
  assert.equal(byId(data, 'w-old-00').shownStatus, 'stopped');
});

test('every field of a busy worker, and the runs it runs now (running only, oldest start first)', async () => {
  const busy = byId(await page(), 'w-busy');
  const { silentSeconds, started_at, heartbeat_at, ...rest } = busy;
  assert.ok(silentSeconds < 5);
  assert.ok(Date.parse(heartbeat_at) - Date.parse(started_at) >= 99_000);
  assert.deepEqual(rest, {
    id: 'w-busy',
    kind: 'worker',
    host: 'box-b',
    pid: 4242,
    version: '1.2.3',
    queues: ['default', 'heavy'],
    concurrency: 4,
    status: 'alive',
    shownStatus: 'alive',
    stopped_at: null,
    memory_rss: 256 * 1024 * 1024,
    runs_completed: 3,
    runs_failed: 1,
    moved_runs: [],
    running: [
      { runId: 'run-b1', project: 'p', pipeline: 'fast', startedAt: '2026-03-01T12:00:02.000Z' },
      { runId: 'run-b2', project: 'p', pipeline: 'slow', startedAt: '2026-03-01T12:00:05.000Z' },
    ],
  });
  assert.deepEqual(byId(await page(), 'w-late').running, [{ runId: 'run-late', project: 'p', pipeline: 'slow', startedAt: '2026-03-01T12:00:00.000Z' }]);
  assert.deepEqual(byId(await page(), 'w-server').running, []);
});

test('a lost process is shown lost, with when it was found and the runs moved away from it', async () => {
  const lost = byId(await page(), 'w-lost');
  assert.equal(lost.status, 'lost');
  assert.equal(lost.shownStatus, 'lost');
  assert.deepEqual(lost.moved_runs, ['run-moved-1', 'run-moved-2']);
  assert.ok(lost.stopped_at);
  assert.ok(lost.silentSeconds >= 300);
  assert.deepEqual(lost.running, []);
});

test('a process registered through the repository shows up alive with its memory', async () => {
  await store.workers.register({ id: 'w-real', kind: 'worker', host: os.hostname(), pid: process.pid, version: 't', queues: ['default'], concurrency: 2 });
  const data = await page();
  const real = byId(data, 'w-real');
  assert.equal(real.shownStatus, 'alive');
  assert.equal(real.pid, process.pid);
  assert.equal(real.host, os.hostname());
  assert.ok(real.memory_rss > 1024 * 1024, String(real.memory_rss));
  // Started last of the alive ones.
  assert.equal(data.workers.findIndex((w) => w.id === 'w-real'), 2);
  await store.workers.setStatus('w-real', 'stopped');
  const stopped = byId(await page(), 'w-real');
  assert.equal(stopped.shownStatus, 'stopped');
  assert.ok(stopped.stopped_at);
  await store.pool.query(`DELETE FROM workers WHERE id = 'w-real'`);
});

test('?ended caps the stopped and lost rows (every live one is still listed); a bad value is a 400', async () => {
  const data = await page('?ended=2');
  assert.deepEqual(
    data.workers.map((w) => w.id),
    ['w-server', 'w-busy', 'w-draining', 'w-late', 'w-late-draining', 'w-stopped', 'w-lost'],
  );
  assert.equal(data.endedNotShown, OLD_STOPPED);
  const none = await page('?ended=0');
  assert.equal(none.workers.length, 5);
  assert.equal(none.endedNotShown, OLD_STOPPED + 2);
  for (const bad of ['?ended=-1', '?ended=many', '?ended=501']) {
    const answer = await getWorkers(request(bad));
    assert.equal(answer.status, 400, bad);
    assert.match(await answer.text(), /"code":"invalid_input"/);
  }
});

test('without a run store in the process the route answers 500 with a JSON error', async () => {
  setOrchestration(undefined);
  try {
    const answer = await getWorkers(request());
    assert.equal(answer.status, 500);
    assert.match(await answer.text(), /"code":"internal"/);
  } finally {
    setOrchestration({ store, scheduler: null, worker: null, projectsDir: '', clock: systemClock, triggersChanged: () => undefined, close: async () => undefined });
  }
});

test('behind the access gate: anonymous gets 401 (the page a redirect to sign-in), a viewer the JSON', async () => {
  const access = new AccessStore(store.pool);
  const password = 'a long enough password';
  // The first user must be an owner; the least role is the one checked here.
  await access.addUser('olga', 'owner', password);
  await access.addUser('vic', 'viewer', password);
  const viewer = await access.checkSignIn('vic', password);
  assert.ok(viewer);
  const viewerCookie = `grimoire_session=${await access.createSession(viewer.id, null)}`;
  const context: AccessContext = {
    store: access,
    startToken: { hash: null, fixed: false },
    throttle: new SignInThrottle(),
    hosts: { boundHost: '127.0.0.1', port: 0, allowedHosts: [] },
    maxBodyBytes: 1024 * 1024,
    log: () => undefined,
  };
  const gate = createGate(() => context, { dev: false });
  // The gate in front of the route handler itself (Next's router is not needed to reach it).
  const server = createServer((req, res) =>
    gate.handle(req, res, () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      void getWorkers(new Request(`http://127.0.0.1${req.url ?? '/'}`, { headers })).then(async (answer) => {
        res.writeHead(answer.status, Object.fromEntries(answer.headers));
        res.end(await answer.text());
      });
    }),
  );
  http = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  context.hosts = { ...context.hosts, port: address.port };
  const base = `http://127.0.0.1:${address.port}`;

  const anonymous = await call(base, 'GET', '/api/workers');
  assert.equal(anonymous.status, 401);
  assert.equal(errorCode(anonymous), 'unauthorized');
  assert.ok(!anonymous.text.includes('box-b'), 'nothing about the workers leaks');

  const anonymousPage = await call(base, 'GET', '/workers');
  assert.equal(anonymousPage.status, 303);
  assert.equal(anonymousPage.headers.get('location'), '/login?next=%2Fworkers');

  const byViewer = await call(base, 'GET', '/api/workers', { cookie: viewerCookie });
  assert.equal(byViewer.status, 200, byViewer.text);
  const data = workersResponseSchema.parse(byViewer.json);
  assert.equal(byId(data, 'w-busy').host, 'box-b');
  assert.equal(byId(data, 'w-lost').shownStatus, 'lost');
});
