/**
 * GET /metrics against a real Postgres: runs, block runs, attempts and workers rows with known
 * times, then the exact Prometheus lines (counts by status, cumulative histogram buckets with
 * their _sum and _count, queue depth, late workers), and the route behind the real access gate
 * (anonymous and a wrong token get 401, an API token the text).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { GET as getMetrics } from '../../app/metrics/route';
import { AccessStore } from '../../lib/access/access-store';
import { type AccessContext } from '../../lib/access/context';
import { createGate } from '../../lib/access/gate';
import { SignInThrottle } from '../../lib/access/throttle';
import { systemClock } from '../../lib/clock';
import { BLOCK_DURATION_BUCKETS, collectMetrics, QUEUE_WAIT_BUCKETS, SCHEDULER_LATENESS_BUCKETS, WORKER_LATE_AFTER_MS } from '../../lib/metrics/metrics';
import { setOrchestration } from '../../lib/scheduler/slot';
import { type Store } from '../../lib/store/store';
import { call, errorCode } from '../support/http-client';
import { testStore } from '../support/store';

let db: Awaited<ReturnType<typeof testStore>>;
let store: Store;
let http: Server;
let base = '';

/** The instant every fixture time is counted from. */
const T = new Date('2026-03-01T12:00:00Z');
const at = (seconds: number) => new Date(T.getTime() + seconds * 1000);

async function run(id: string, kind: string, status: string, queue: string, times: { created: number; started: number | null }): Promise<void> {
  await store.pool.query(
    `INSERT INTO pipeline_runs (id, project, pipeline, kind, execution_date, status, queue, created_at, started_at) VALUES ($1, 'p', 'q', $2, $3, $4, $5, $6, $7)`,
    [id, kind, T, status, queue, at(times.created), times.started === null ? null : at(times.started)],
  );
}

/** A block run with its attempts as [status, started (s), finished (s) or null]. */
async function blockRun(runId: string, block: string, status: string, attempts: [string, number, number | null][] = []): Promise<void> {
  const res = await store.pool.query<{ id: string }>(`INSERT INTO block_runs (run_id, block_uuid, position, status, attempts) VALUES ($1, $2, 0, $3, $4) RETURNING id`, [runId, block, status, attempts.length]);
  const id = res.rows[0]?.id;
  assert.ok(id);
  for (const [i, [s, started, finished]] of attempts.entries()) {
    await store.pool.query(`INSERT INTO block_run_attempts (block_run_id, attempt, status, started_at, finished_at) VALUES ($1, $2, $3, $4, $5)`, [
      id,
      i + 1,
      s,
      at(started),
      finished === null ? null : at(finished),
    ]);
  }
}

/** A workers row whose last heartbeat was `silentSeconds` ago by the database's clock. */
async function worker(id: string, kind: string, status: string, silentSeconds: number, queues: string[] = []): Promise<void> {
  await store.pool.query(
    `INSERT INTO workers (id, kind, host, pid, version, queues, status, heartbeat_at) VALUES ($1, $2, 'h', 1, 'v', $3, $4, now() - make_interval(secs => $5))`,
    [id, kind, queues, status, silentSeconds],
  );
}

before(async () => {
  db = await testStore();
  store = db.store;
  // Silence counts from the database's start at the latest (as the store's lost-worker rule): on
  // a just-started embedded Postgres, wait until 30 s of silence can show, before the heartbeats
  // of the fresh workers below are written.
  for (;;) {
    const up = await store.pool.query<{ s: number }>('SELECT EXTRACT(EPOCH FROM now() - pg_postmaster_start_time())::float8 AS s');
    if ((up.rows[0]?.s ?? 0) * 1000 > WORKER_LATE_AFTER_MS + 1000) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // Runs: [kind, status, queue, created, started] in seconds after T (execution_date is T).
  await run('r1', 'scheduled', 'completed', 'default', { created: 0.5, started: 2 }); // wait 1.5, late 2 (on a bound)
  await run('r2', 'scheduled', 'failed', 'default', { created: 0, started: 45 }); // wait 45, late 45
  await run('r3', 'api', 'running', 'heavy', { created: 0, started: 0.05 }); // wait 0.05 (on a bound)
  await run('r4', 'manual', 'initial', 'heavy', { created: 0, started: null });
  await run('r5', 'backfill', 'initial', 'default', { created: 0, started: null });
  await run('r6', 'editor', 'completed', 'default', { created: 0, started: 10 }); // driven by its own process: no queue wait
  await run('r7', 'api', 'initial', 'heavy', { created: 0, started: null });
  await run('r8', 'manual', 'cancelled', 'default', { created: 0, started: null });
  await run('r9', 'scheduled', 'running', 'default', { created: 0, started: -1 }); // another machine's clock: both clamp to 0

  await blockRun('r1', 'b1', 'completed', [['completed', 0, 0.5]]); // 0.5 s, on a bound
  await blockRun('r1', 'b2', 'completed', [
    ['failed', 0, 3],
    ['completed', 10, 100],
  ]); // 3 s failed, 90 s completed
  await blockRun('r2', 'b3', 'failed', [['failed', 0, 7200]]); // above the last bound
  await blockRun('r2', 'b4', 'upstream_failed');
  await blockRun('r3', 'b5', 'running', [['running', 0, null]]); // not finished: not counted
  await blockRun('r3', 'b6', 'queued', [['cancelled', 0, 0.25]]);

  await worker('w1', 'worker', 'alive', 0, ['default', 'gpu']);
  await worker('w2', 'worker', 'alive', 30, ['silent']);
  await worker('w3', 'worker', 'draining', 0);
  await worker('w4', 'worker', 'lost', 300, ['old']);
  await worker('w5', 'server', 'alive', 0);
  await worker('w6', 'cli', 'stopped', 60);
  await worker('w7', 'worker', 'stopped', 60);
  await worker('w8', 'worker', 'draining', 30);
});

after(async () => {
  setOrchestration(undefined);
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await db?.close();
});

function lines(text: string): string[] {
  return text.split('\n');
}

/** The lines of one histogram series, from the count in each bucket (`perBucket`, not cumulative) and above the last bound. */
function histogramLines(name: string, labels: string, bounds: readonly number[], perBucket: Record<number, number>, above: number, sum: number): string[] {
  const prefix = labels === '' ? '' : `${labels},`;
  const out: string[] = [];
  let cumulative = 0;
  for (const b of bounds) {
    cumulative += perBucket[b] ?? 0;
    out.push(`${name}_bucket{${prefix}le="${b}"} ${cumulative}`);
  }
  const count = cumulative + above;
  out.push(`${name}_bucket{${prefix}le="+Inf"} ${count}`);
  out.push(`${name}_sum${labels === '' ? '' : `{${labels}}`} ${sum}`);
  out.push(`${name}_count${labels === '' ? '' : `{${labels}}`} ${count}`);
  return out;
}

/** `expected` appears in `text` as consecutive lines, in this order. */
function assertBlock(text: string, expected: string[]): void {
  const all = lines(text);
  const start = all.indexOf(expected[0] ?? '');
  assert.ok(start >= 0, `missing line ${expected[0]}\n${text}`);
  assert.deepEqual(all.slice(start, start + expected.length), expected);
}

test('pipeline runs and block runs by status, every status written', async () => {
  const { text, contentType } = await collectMetrics(store.pool);
  assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
  assertBlock(text, [
    '# HELP grimoire_pipeline_runs Pipeline runs in the store, by status.',
    '# TYPE grimoire_pipeline_runs gauge',
    'grimoire_pipeline_runs{status="initial"} 3',
    'grimoire_pipeline_runs{status="running"} 2',
    'grimoire_pipeline_runs{status="completed"} 2',
    'grimoire_pipeline_runs{status="failed"} 1',
    'grimoire_pipeline_runs{status="cancelled"} 1',
  ]);
  assertBlock(text, [
    '# TYPE grimoire_block_runs gauge',
    'grimoire_block_runs{status="initial"} 0',
    'grimoire_block_runs{status="queued"} 1',
    'grimoire_block_runs{status="running"} 1',
    'grimoire_block_runs{status="completed"} 2',
    'grimoire_block_runs{status="failed"} 1',
    'grimoire_block_runs{status="cancelled"} 0',
    'grimoire_block_runs{status="upstream_failed"} 1',
    'grimoire_block_runs{status="condition_failed"} 0',
  ]);
});

test('block durations: cumulative buckets by attempt status, +Inf = _count, unfinished attempts left out', async () => {
  const { text } = await collectMetrics(store.pool);
  const name = 'grimoire_block_duration_seconds';
  assert.ok(lines(text).includes(`# TYPE ${name} histogram`));
  // Series sorted by label value: cancelled, completed, failed.
  assertBlock(text, [
    ...histogramLines(name, 'status="cancelled"', BLOCK_DURATION_BUCKETS, { 0.25: 1 }, 0, 0.25),
    ...histogramLines(name, 'status="completed"', BLOCK_DURATION_BUCKETS, { 0.5: 1, 120: 1 }, 0, 90.5),
    ...histogramLines(name, 'status="failed"', BLOCK_DURATION_BUCKETS, { 5: 1 }, 1, 7203),
  ]);
  assert.ok(!text.includes(`${name}_count{status="running"}`), 'a running attempt is not a duration');
});

test('queue depth and queue wait by queue; scheduler lateness of scheduled runs; times clamped at 0', async () => {
  const { text } = await collectMetrics(store.pool);
  // Waiting runs by queue; gpu is served by an alive worker and has none; the lost worker's queue is not listed.
  assert.ok(lines(text).includes('grimoire_queue_depth{queue="default"} 1'), text);
  assert.ok(lines(text).includes('grimoire_queue_depth{queue="heavy"} 2'), text);
  assert.ok(lines(text).includes('grimoire_queue_depth{queue="gpu"} 0'), text);
  assert.ok(!text.includes('grimoire_queue_depth{queue="old"}'), text);
  assert.equal(lines(text).filter((l) => l.startsWith('grimoire_queue_depth{')).length, 4, 'default, heavy, gpu, and silent (served by the late worker w2, whose row still says alive)');

  const wait = 'grimoire_queue_wait_seconds';
  // default: r1 1.5 s, r2 45 s, r9 -1 s -> 0; the editor run r6 (10 s) is not counted.
  assertBlock(text, [
    ...histogramLines(wait, 'queue="default"', QUEUE_WAIT_BUCKETS, { 0.01: 1, 2.5: 1, 60: 1 }, 0, 46.5),
    ...histogramLines(wait, 'queue="heavy"', QUEUE_WAIT_BUCKETS, { 0.05: 1 }, 0, 0.05),
  ]);

  const late = 'grimoire_scheduler_lateness_seconds';
  // r1 2 s, r2 45 s, r9 -1 s -> 0; no labels.
  assertBlock(text, [`# TYPE ${late} histogram`, ...histogramLines(late, '', SCHEDULER_LATENESS_BUCKETS, { 0.1: 1, 2: 1, 60: 1 }, 0, 47)]);
});

test('workers by kind and status; an alive or draining row silent for over 10 s counts as late', async () => {
  const { text } = await collectMetrics(store.pool);
  const expected: Record<string, number> = {
    'kind="worker",status="alive"': 1,
    'kind="worker",status="draining"': 1,
    'kind="worker",status="stopped"': 1,
    'kind="worker",status="lost"': 1,
    'kind="worker",status="late"': 2,
    'kind="server",status="alive"': 1,
    'kind="cli",status="stopped"': 1,
  };
  const got = lines(text).filter((l) => l.startsWith('grimoire_workers{'));
  assert.equal(got.length, 3 * 5, 'every kind with every status, zeros included');
  for (const line of got) {
    const m = /^grimoire_workers\{(.*)\} (\d+)$/.exec(line);
    assert.ok(m, line);
    assert.equal(Number(m[2]), expected[m[1] ?? ''] ?? 0, line);
  }
  // With a longer allowance the silent ones are counted by their stored status again.
  const patient = lines((await collectMetrics(store.pool, { lateAfterMs: 120_000 })).text);
  assert.ok(patient.includes('grimoire_workers{kind="worker",status="late"} 0'));
  assert.ok(patient.includes('grimoire_workers{kind="worker",status="alive"} 2'));
  assert.ok(patient.includes('grimoire_workers{kind="worker",status="draining"} 2'));
});

test('a real claim: started_at is the time of the "claimed by worker" event, so the queue wait is created -> claim', async () => {
  const created = await store.runs.create({ project: 'p', pipeline: 'claimed', kind: 'api', executionDate: new Date() });
  assert.ok(created);
  // A creation time of whole milliseconds (the database keeps microseconds), so the wait is exactly 0.25 s.
  await store.pool.query('UPDATE pipeline_runs SET created_at = $2 WHERE id = $1', [created.id, at(100)]);
  const claimed = await store.runs.claim(created.id, 'w1', at(100.25));
  assert.ok(claimed);
  const event = await store.pool.query<{ at: Date }>(`SELECT at FROM run_events WHERE run_id = $1 AND status = 'running' AND message LIKE 'claimed by worker %'`, [created.id]);
  assert.equal(event.rows[0]?.at.getTime(), claimed.started_at?.getTime());
  const { text } = await collectMetrics(store.pool);
  // default now also holds 0.25 s (bucket 0.25), and one more running run.
  assertBlock(text, histogramLines('grimoire_queue_wait_seconds', 'queue="default"', QUEUE_WAIT_BUCKETS, { 0.01: 1, 0.25: 1, 2.5: 1, 60: 1 }, 0, 46.75));
  assert.ok(lines(text).includes('grimoire_pipeline_runs{status="running"} 3'));
});

test('without a run store in the process the route answers 500 with a JSON error, not a half-written text', async () => {
  setOrchestration(undefined);
  const answer = await getMetrics();
  assert.equal(answer.status, 500);
  assert.match(await answer.text(), /"code":"internal"/);
});

test('GET /metrics behind the access gate: anonymous and a wrong token get 401, an API token gets the text', async () => {
  const access = new AccessStore(store.pool);
  const password = 'a long enough password';
  await access.addUser('olga', 'owner', password);
  // API tokens are an editor's (POST /api/tokens); the token carries its user's role.
  await access.addUser('prometheus', 'editor', password);
  await access.addUser('vic', 'viewer', password);
  const scraper = await access.checkSignIn('prometheus', password);
  const viewer = await access.checkSignIn('vic', password);
  assert.ok(scraper && viewer);
  const { token } = await access.createApiToken(scraper.id, 'scrape');
  const viewerCookie = `grimoire_session=${await access.createSession(viewer.id, null)}`;
  setOrchestration({ store, scheduler: null, worker: null, projectsDir: '', clock: systemClock, triggersChanged: () => undefined, close: async () => undefined });
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
  http = createServer((req, res) =>
    gate.handle(req, res, () => {
      void getMetrics().then(async (answer) => {
        res.writeHead(answer.status, Object.fromEntries(answer.headers));
        res.end(await answer.text());
      });
    }),
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const address = http.address();
  assert.ok(address && typeof address === 'object');
  context.hosts = { ...context.hosts, port: address.port };
  base = `http://127.0.0.1:${address.port}`;

  const anonymous = await call(base, 'GET', '/metrics');
  assert.equal(anonymous.status, 401, 'not a redirect to the sign-in page: Prometheus is no browser');
  assert.equal(errorCode(anonymous), 'unauthorized');
  assert.ok(!anonymous.text.includes('grimoire_'));
  const wrong = await call(base, 'GET', '/metrics', { bearer: `${token}x` });
  assert.equal(wrong.status, 401);

  const scraped = await call(base, 'GET', '/metrics', { bearer: token });
  assert.equal(scraped.status, 200, scraped.text);
  assert.equal(scraped.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(scraped.headers.get('cache-control'), 'no-store');
  assert.equal(scraped.text, (await collectMetrics(store.pool)).text);
  assert.ok(lines(scraped.text).includes('grimoire_queue_depth{queue="heavy"} 2'));

  // The least role is enough: a viewer signed in with a session cookie reads it too.
  const byViewer = await call(base, 'GET', '/metrics', { cookie: viewerCookie });
  assert.equal(byViewer.status, 200, byViewer.text);
  assert.ok(lines(byViewer.text).includes('grimoire_queue_depth{queue="heavy"} 2'));
});
