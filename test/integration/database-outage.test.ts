/**
 * The database goes away under running runs: Postgres is restarted, and every backend is
 * terminated (pg_terminate_backend), in rounds, while two worker processes and the server's run
 * side (scheduler + worker) execute runs against a Postgres of this test's own. Afterwards every
 * process is still up and no run is lost, doubled (a block completed twice, or attempted again
 * at all: nobody died), stuck or failed; no process was taken for lost.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../lib/db/embedded-postgres';
import { isConnectionError } from '../../lib/store/reconnect';
import { Store } from '../../lib/store/store';
import { type RunRow } from '../../lib/store/types';
import { tempProjects } from '../support/projects';

const SCHEMA = 'outage';
let folder: string;
let postgres: RunningPostgres;
let port: number;
let store: Store;
let projects: Awaited<ReturnType<typeof tempProjects>>;
const children: ChildProcess[] = [];
/** A LISTEN of the test's own, through Store.listen: what it heard and how often it reconnected. */
const heard: string[] = [];
let reconnects = 0;
let stopListening: (() => Promise<void>) | null = null;

before(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'grimoire-outage-'));
  postgres = await startEmbeddedPostgres(path.join(folder, 'data'));
  port = postgres.coordinates.port;
  store = await Store.open({ url: postgres.url, schema: SCHEMA });
  projects = await tempProjects({ crash: 'test/fixtures/projects/crash_runs' });
  for (const script of ['worker-process.ts', 'worker-process.ts', 'orchestration-process.ts']) children.push(await startRunner(script));
  stopListening = await store.listen(['cancel'], (_name, payload) => heard.push(payload), () => reconnects++);
});

after(async () => {
  for (const child of children) {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await stopListening?.();
  await store?.close();
  await postgres?.stop();
  await projects?.cleanup();
  if (folder) await rm(folder, { recursive: true, force: true });
});

async function startRunner(script: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'support', script), postgres.url, SCHEMA, projects.root], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not get ready`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString('utf8').includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`${script} exited before it was ready (${signal ?? code})`)));
  });
  return child;
}

async function createRuns(n: number, round: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const run = await store.runs.create({ project: 'crash', pipeline: 'chain', kind: 'manual', executionDate: new Date(Date.UTC(2024, 0, 1, 0, 0, i)), variables: { round } });
    assert.ok(run);
    ids.push(run.id);
  }
  return ids;
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function statuses(ids: readonly string[]): Promise<RunRow[]> {
  return (await Promise.all(ids.map((id) => store.runs.get(id)))).filter((r): r is RunRow => r !== null);
}

/** Every backend but the caller's, terminated: what a failover or an operator's kill does to each process. */
async function terminateBackends(): Promise<number> {
  const c = new pg.Client({ connectionString: postgres.url });
  await c.connect();
  try {
    const res = await c.query('SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = $1', ['client backend']);
    return Number(res.rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

async function restartPostgres(downMs: number): Promise<void> {
  await postgres.stop();
  await new Promise((r) => setTimeout(r, downMs));
  postgres = await startEmbeddedPostgres(path.join(folder, 'data'), { port });
}

interface Tally {
  runs: number;
  lost: number;
  doubled: number;
  stuck: number;
  failed: number;
  reattempted: number;
}

async function tally(ids: readonly string[]): Promise<Tally> {
  const t: Tally = { runs: ids.length, lost: 0, doubled: 0, stuck: 0, failed: 0, reattempted: 0 };
  for (const id of ids) {
    const d = await store.runs.detail(id);
    if (!d) {
      t.lost++;
      continue;
    }
    if (d.run.status === 'failed' || d.run.status === 'cancelled') t.failed++;
    else if (d.run.status !== 'completed') t.stuck++;
    for (const block of ['load', 'clean', 'total']) {
      const attempts = d.attempts.filter((a) => a.block_uuid === block);
      if (attempts.filter((a) => a.status === 'completed').length > 1) t.doubled++;
      if (attempts.length > 1) t.reattempted++;
    }
    // Two claims of one run would mean two processes took it.
    if (d.events.filter((e) => e.block_uuid === null && /claimed by worker/.test(e.message ?? '')).length > 1) t.doubled++;
  }
  return t;
}

describe('the database restarts and its backends are killed while runs are in flight', { timeout: 600_000 }, () => {
  for (const [round, disrupt] of [
    ['restart', () => restartPostgres(2_000)],
    ['backends killed', async () => {
      assert.ok((await terminateBackends()) > 0, 'some backends were terminated');
      await new Promise((r) => setTimeout(r, 500));
      await terminateBackends();
    }],
    ['restart', () => restartPostgres(500)],
    ['backends killed', () => terminateBackends().then(() => undefined)],
  ] as const) {
    test(`${round}: 0 runs lost, doubled or stuck; every process still up`, async () => {
      const ids = await createRuns(12, round);
      await waitFor('runs to be in flight', async () => (await statuses(ids)).some((r) => r.status === 'running'), 60_000);
      const reconnectsBefore = reconnects;
      await disrupt();
      const back = Date.now();
      // The listener came back by itself, said so, and hears what is sent now.
      await waitFor('the LISTEN connection to come back', async () => reconnects > reconnectsBefore, 30_000);
      // Sent until heard: the last kill may have caught the listener's new connection too.
      await waitFor('a notification after the outage', async () => {
        await store.notify('cancel', `after ${round}`);
        return heard.includes(`after ${round}`);
      }, 15_000);
      // A run created once the database is back is taken and finished by the reconnected processes.
      const [late] = await createRuns(1, `${round} late`);
      assert.ok(late);
      await waitFor('the run created after the outage', async () => (await store.runs.get(late))?.status === 'completed', 60_000);
      const recoveredInMs = Date.now() - back;
      await waitFor('every run to finish', async () => (await statuses(ids)).every((r) => ['completed', 'failed', 'cancelled'].includes(r.status)), 120_000).catch(() => undefined);
      const t = await tally([...ids, late]);
      process.stdout.write(`# ${round}: ${JSON.stringify(t)}; a new run completed ${recoveredInMs} ms after the database was back\n`);
      assert.deepEqual({ lost: t.lost, doubled: t.doubled, stuck: t.stuck, failed: t.failed, reattempted: t.reattempted }, { lost: 0, doubled: 0, stuck: 0, failed: 0, reattempted: 0 });
      for (const child of children) assert.equal(child.exitCode ?? child.signalCode, null, `a runner (pid ${child.pid}) exited`);
      const workers = await store.workers.list();
      assert.deepEqual(workers.filter((w) => w.status === 'lost').map((w) => w.id), [], 'no live process was taken for lost');
      assert.equal(workers.filter((w) => w.status === 'alive' && w.kind === 'worker').length, 3);
    });
  }

  test("a client taken from the store's pool whose backend is killed between two statements fails its next one; the process lives on", async () => {
    const client = await store.pool.connect();
    try {
      await client.query('BEGIN');
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.end();
      // The server's goodbye arrives while no statement runs: an 'error' event on the client, which
      // used to end this process when nobody listened.
      await new Promise((r) => setTimeout(r, 300));
      await assert.rejects(client.query('SELECT 1'), (e: unknown) => isConnectionError(e));
    } finally {
      client.release(true);
    }
    assert.equal((await store.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
  });
});
