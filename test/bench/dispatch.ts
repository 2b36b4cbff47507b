/**
 * Issue #16, "Speed and scale": dispatch through the queue with one server (production build, its
 * own in-process worker) and two `grimoire worker` processes on one fresh embedded PostgreSQL.
 * - 200 runs of a 5-block pipeline started at once through the API: runs per second until the
 *   last completes, created → first block started (queueing behind busy slots included), and
 *   runs lost or doubled.
 * - Dispatch latency with free slots: runs started one at a time (one a second) through the API,
 *   created → claimed and created → first block started; then the same while a 5M-row export to
 *   the same Postgres runs on one of the workers (its COPY is one long transaction).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../lib/db/embedded-postgres';
import { Store } from '../../lib/store/store';
import { call } from '../support/http-client';
import { writeProject } from '../support/write-project';
import { percentile, summarize, type Figure } from './stats';

const PROJECT = 'dispatch';
const TRIGGER = 'bench_api';
const FINISHED = new Set(['completed', 'failed', 'cancelled']);
const BLOCKS = ['b0', 'b1', 'b2', 'b3', 'b4'];

export interface DispatchBench {
  /** Runs started at once (200 in full, fewer with --quick). */
  burst: number;
  /** Runs started one at a time, idle and under the export. */
  trickle: number;
  report(f: Figure): void;
  log(line: string): void;
}

function project(db: { host: string; port: number; user: string; password: string }): Record<string, string> {
  const chain = BLOCKS.map((b, i) =>
    i === 0 ? `  - uuid: ${b}\n    type: data_loader\n    language: sql\n    upstream_blocks: []\n` : `  - uuid: ${b}\n    type: transformer\n    language: sql\n    upstream_blocks: [${BLOCKS[i - 1]}]\n`,
  );
  const api = `triggers:\n  - name: ${TRIGGER}\n    schedule_type: api\n    status: active\n`;
  return {
    'pipelines/five/metadata.yaml': `name: five\nuuid: five\ntype: batch\n\nblocks:\n${chain.join('')}`,
    'pipelines/five/triggers.yaml': api,
    'data_loaders/b0.sql': 'SELECT 1 AS x\n',
    ...Object.fromEntries(BLOCKS.slice(1).map((b) => [`transformers/${b}.sql`, 'SELECT x + 1 AS x FROM {{ df_1 }}\n'])),
    'pipelines/export_5m/metadata.yaml':
      'name: export_5m\nuuid: export_5m\ntype: batch\n\nblocks:\n  - uuid: five_million\n    type: data_loader\n    language: sql\n    upstream_blocks: []\n  - uuid: to_postgres\n    type: data_exporter\n    language: typescript\n    upstream_blocks: [five_million]\n',
    'pipelines/export_5m/triggers.yaml': api,
    'data_loaders/five_million.sql': "SELECT i AS id, i % 97 AS amount, 'trip ' || i AS label FROM range(5000000) t(i)\n",
    'data_exporters/to_postgres.ts':
      "export default async function to_postgres(up: DataFrame, ctx: BlockContext) {\n  const { rows } = await ctx.io.postgres('bench').export(up, { schema: 'public', table: 'bench_export_5m', writePolicy: 'replace' });\n  return [{ rows }];\n}\n",
    'io_config.yaml': `bench:\n  POSTGRES_HOST: ${db.host}\n  POSTGRES_PORT: ${db.port}\n  POSTGRES_USER: ${db.user}\n  POSTGRES_PASSWORD: "${db.password}"\n  POSTGRES_DBNAME: postgres\n`,
  };
}

function field(value: unknown, key: string): unknown {
  return value && typeof value === 'object' ? Object.entries(value).find(([k]) => k === key)?.[1] : undefined;
}

function startWorker(root: string, url: string, log: (line: string) => void): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bin/grimoire.js', 'worker', '--projects', root, '--concurrency', '4'], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => log(`  worker: ${d.toString('utf8').trim()}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a worker did not start in 60 s')), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString('utf8').includes('is running')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it was running`)));
  });
}

interface RunTimes {
  id: string;
  createdAt: number;
  claimedAt: number | null;
  firstBlockAt: number | null;
  completedAt: number | null;
  status: string;
  claims: number;
  completedAttempts: number;
}

/** What the store says of each run: its creation, claims, first block's first attempt and end. */
async function timesOf(store: Store, ids: readonly string[]): Promise<RunTimes[]> {
  const res = await store.pool.query<{ id: string; created_at: Date; completed_at: Date | null; status: string; claimed_at: Date | null; claims: string; first_block_at: Date | null; completed_attempts: string }>(
    `SELECT r.id, r.created_at, r.completed_at, r.status,
            (SELECT min(e.at) FROM run_events e WHERE e.run_id = r.id AND e.block_uuid IS NULL AND e.message LIKE 'claimed by worker %') AS claimed_at,
            (SELECT count(*) FROM run_events e WHERE e.run_id = r.id AND e.block_uuid IS NULL AND e.message LIKE 'claimed by worker %') AS claims,
            (SELECT min(a.started_at) FROM block_run_attempts a JOIN block_runs b ON b.id = a.block_run_id WHERE b.run_id = r.id AND b.block_uuid = 'b0') AS first_block_at,
            (SELECT count(*) FROM block_run_attempts a JOIN block_runs b ON b.id = a.block_run_id WHERE b.run_id = r.id AND a.status = 'completed') AS completed_attempts
       FROM pipeline_runs r WHERE r.id = ANY($1::text[])`,
    [[...ids]],
  );
  return res.rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at.getTime(),
    claimedAt: r.claimed_at?.getTime() ?? null,
    firstBlockAt: r.first_block_at?.getTime() ?? null,
    completedAt: r.completed_at?.getTime() ?? null,
    status: r.status,
    claims: Number(r.claims),
    completedAttempts: Number(r.completed_attempts),
  }));
}

async function untilFinished(store: Store, ids: readonly string[], timeoutMs: number): Promise<RunTimes[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const times = await timesOf(store, ids);
    if (times.length === ids.length && times.every((t) => FINISHED.has(t.status))) return times;
    if (Date.now() > deadline) throw new Error(`${times.filter((t) => !FINISHED.has(t.status)).length + ids.length - times.length} of ${ids.length} runs not finished after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Times one bare commit (a row inserted, autocommit) every 100 ms until stopped, on a connection
 * of its own: the floor under any dispatch step that commits to the same Postgres. Returns the
 * latencies in ms.
 */
function commitProbe(url: string): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let stopping = false;
  const done = (async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('CREATE TABLE IF NOT EXISTS public.bench_commit_probe (at timestamptz NOT NULL)');
      while (!stopping) {
        const began = performance.now();
        await client.query('INSERT INTO public.bench_commit_probe VALUES (now())');
        latencies.push(performance.now() - began);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await client.end();
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await done;
      return latencies;
    },
  };
}

export async function dispatchFigures(bench: DispatchBench): Promise<void> {
  const { startServer } = await import('../../lib/server/start');
  const pgDir = await mkdtemp(path.join(os.tmpdir(), 'grimoire-bench-pg-'));
  const database = await startEmbeddedPostgres(path.join(pgDir, 'postgres'));
  const files = await writeProject(PROJECT, project(database.coordinates));
  const saved = { DATABASE_URL: process.env.DATABASE_URL, GRIMOIRE_TOKEN: process.env.GRIMOIRE_TOKEN };
  process.env.DATABASE_URL = database.url;
  delete process.env.GRIMOIRE_TOKEN;
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  const workers: ChildProcess[] = [];
  const store = await Store.open({ url: database.url });
  try {
    bench.log('dispatch: starting the server and two workers');
    server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: files.root, dev: false });
    const owner = server.startToken;
    if (!owner) throw new Error('the server has no start token');
    const base = server.url;
    for (let i = 0; i < 2; i++) workers.push(await startWorker(files.root, database.url, bench.log));
    const tokens = new Map<string, string>();
    for (const pipeline of ['five', 'export_5m']) {
      const minted = await call(base, 'POST', `/api/projects/${PROJECT}/pipelines/${pipeline}/triggers/${TRIGGER}/token`, { bearer: owner, body: {} });
      const token = field(minted.json, 'token');
      if (minted.status !== 200 || typeof token !== 'string') throw new Error(`trigger token of ${pipeline}: ${minted.status} ${minted.text.slice(0, 300)}`);
      tokens.set(pipeline, token);
    }
    const start = async (pipeline: string): Promise<string> => {
      const posted = await call(base, 'POST', `/api/projects/${PROJECT}/pipelines/${pipeline}/triggers/${TRIGGER}/runs`, { bearer: tokens.get(pipeline) ?? '', body: { variables: {} } });
      const id = field(field(posted.json, 'run'), 'id');
      if (posted.status !== 201 || typeof id !== 'string') throw new Error(`POST runs of ${pipeline}: ${posted.status} ${posted.text.slice(0, 300)}`);
      return id;
    };
    // Warm-up: every worker has started a kernel and loaded the pipeline once.
    await untilFinished(store, await Promise.all(Array.from({ length: 6 }, () => start('five'))), 120_000);

    bench.log(`dispatch: ${bench.burst} runs at once`);
    const burstIds = await Promise.all(Array.from({ length: bench.burst }, () => start('five')));
    const burst = await untilFinished(store, burstIds, 600_000);
    const firstCreated = Math.min(...burst.map((t) => t.createdAt));
    const lastCompleted = Math.max(...burst.map((t) => t.completedAt ?? 0));
    bench.report({ ...summarize('dispatch_burst_runs_per_s', 'runs/s', [Math.round((burst.length / ((lastCompleted - firstCreated) / 1000)) * 10) / 10]), runs: burst.length });
    const waited = burst.map((t) => (t.firstBlockAt ?? NaN) - t.createdAt);
    bench.report({ ...summarize('dispatch_burst_first_block_p50', 'ms', [percentile(waited, 50)]), runs: burst.length });
    bench.report({ ...summarize('dispatch_burst_first_block_p99', 'ms', [percentile(waited, 99)]), runs: burst.length });
    const lost = bench.burst - burst.length + burst.filter((t) => t.status !== 'completed').length;
    const doubled = burst.filter((t) => t.claims > 1 || t.completedAttempts > BLOCKS.length).length;
    bench.report({ ...summarize('dispatch_burst_lost_or_failed', 'runs', [lost], { text: '0', ok: (m) => m === 0 }), runs: burst.length });
    bench.report({ ...summarize('dispatch_burst_doubled', 'runs', [doubled], { text: '0', ok: (m) => m === 0 }), runs: burst.length });

    /**
     * Runs started one a second (below the ~2 runs/s these processes finish on 2 cores, so a run
     * finds a free slot and an idle machine, which is what dispatch latency is about), up to
     * `count` of them or until `stop` says so; the times of those `counts` keeps.
     */
    const trickle = async (count: number, stop: () => Promise<boolean> = async () => false, counts: (t: RunTimes) => boolean = () => true): Promise<RunTimes[]> => {
      const ids: string[] = [];
      for (let i = 0; i < count && !(await stop()); i++) {
        ids.push(await start('five'));
        await new Promise((r) => setTimeout(r, 1_000));
      }
      return (await untilFinished(store, ids, 300_000)).filter(counts);
    };
    const report = (label: string, goalMs: number, times: readonly RunTimes[], commits: readonly number[]) => {
      bench.report({ ...summarize(`dispatch_${label}_bare_commit_p50`, 'ms', [Math.round(percentile(commits, 50))]), runs: commits.length });
      bench.report({ ...summarize(`dispatch_${label}_bare_commit_p99`, 'ms', [Math.round(percentile(commits, 99))]), runs: commits.length });
      const claimed = times.map((t) => (t.claimedAt ?? NaN) - t.createdAt);
      const slowest = [...times].sort((x, y) => (y.firstBlockAt ?? 0) - y.createdAt - ((x.firstBlockAt ?? 0) - x.createdAt)).slice(0, 3);
      bench.log(`  ${label}: slowest (claim ms, first block ms): ${slowest.map((t) => `${(t.claimedAt ?? NaN) - t.createdAt} ${(t.firstBlockAt ?? NaN) - t.createdAt}`).join('; ')}`);
      const first = times.map((t) => (t.firstBlockAt ?? NaN) - t.createdAt);
      bench.report({ ...summarize(`dispatch_${label}_claim_p50`, 'ms', [percentile(claimed, 50)]), runs: times.length });
      bench.report({ ...summarize(`dispatch_${label}_claim_p99`, 'ms', [percentile(claimed, 99)]), runs: times.length });
      bench.report({ ...summarize(`dispatch_${label}_first_block_p50`, 'ms', [percentile(first, 50)]), runs: times.length });
      bench.report({ ...summarize(`dispatch_${label}_first_block_p99`, 'ms', [percentile(first, 99)], { text: `<= ${goalMs}`, ok: (m) => m <= goalMs }), runs: times.length });
    };
    // The burst's aftermath is not idle: each process starts its next standby kernel, Postgres
    // vacuums the burst's rows. The idle figures begin once that has settled.
    await new Promise((r) => setTimeout(r, 5_000));
    bench.log(`dispatch: ${bench.trickle} runs one at a time, idle`);
    const idleProbe = commitProbe(database.url);
    const idle = await trickle(bench.trickle);
    report('idle', 100, idle, await idleProbe.stop());

    // One export's COPY lasts a few seconds: exports follow one another until as many runs were
    // started during one as in the idle phase (at most 10 exports).
    bench.log('dispatch: the same while 5M rows are exported to the same Postgres, export after export');
    const underExport: RunTimes[] = [];
    const exportCommits: number[] = [];
    for (let round = 0; round < 10 && underExport.length < bench.trickle; round++) {
      const exportId = await start('export_5m');
      const deadline = Date.now() + 300_000;
      // The trickle starts once the export's COPY is under way.
      for (;;) {
        const res = await store.pool.query<{ status: string }>(`SELECT status FROM block_runs WHERE run_id = $1 AND block_uuid = 'to_postgres'`, [exportId]);
        if (res.rows[0]?.status === 'running') break;
        if (res.rows[0]?.status && FINISHED.has(res.rows[0].status)) throw new Error(`the export's block ended ${res.rows[0].status} before the trickle`);
        if (Date.now() > deadline) throw new Error('the export did not start');
        await new Promise((r) => setTimeout(r, 200));
      }
      // Only runs started while the export's block still ran count; none is started after it ends.
      const exportEnd = async (): Promise<number | null> => {
        const res = await store.pool.query<{ completed_at: Date | null }>(`SELECT completed_at FROM block_runs WHERE run_id = $1 AND block_uuid = 'to_postgres'`, [exportId]);
        return res.rows[0]?.completed_at?.getTime() ?? null;
      };
      let endedAt: number | null = null;
      const probe = commitProbe(database.url);
      underExport.push(...(await trickle(bench.trickle - underExport.length, async () => (endedAt = await exportEnd()) !== null, (t) => endedAt === null || t.createdAt < endedAt)));
      exportCommits.push(...(await probe.stop()));
      const [exported] = await untilFinished(store, [exportId], 600_000);
      if (exported?.status !== 'completed') throw new Error(`the 5M-row export ${exported?.status}`);
      const rows = await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM public.bench_export_5m');
      bench.log(`dispatch: export ${round + 1} wrote ${rows.rows[0]?.n} rows; ${underExport.length} runs so far`);
    }
    report('under_export', 200, underExport, exportCommits);
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
    await store.close();
    await server?.close();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await database.stop();
    await rm(pgDir, { recursive: true, force: true });
    await files.cleanup();
  }
}
