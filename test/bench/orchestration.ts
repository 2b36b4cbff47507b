/**
 * Issue #14, "Speed": orchestration overhead per block through each host of the run engine.
 * A chain of 40 trivial SQL blocks minus a 1-block pipeline, divided by 39, measured in pairs
 * (1 block, then 40) through the editor over socket.io (warm kernel), `grimoire run`, and an
 * API-triggered run (POST to completed, as the store records it), all against one real server
 * (production build, signed in with its start token) on a fresh embedded PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../lib/db/embedded-postgres';
import { type ServerMessage } from '../../lib/protocol/messages';
import { call } from '../support/http-client';
import { openSocketClient, type SocketClient } from '../support/socket-client';
import { writeProject } from '../support/write-project';
import { summarize, type Figure } from './stats';

const PROJECT = 'orchestration';
const CHAIN = 40;
const TRIGGER = 'bench_api';
const FINISHED = new Set(['completed', 'failed', 'cancelled']);

export interface OrchestrationBench {
  /** Timed pairs (1 block, then 40) per host, after one untimed warm-up pair. */
  runs: number;
  report(f: Figure): void;
  /** Runs a child process from the repository root; resolves with its wall time, rejects on a non-zero exit. */
  run(command: string, argv: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }>;
  log(line: string): void;
}

const pipelineName = (n: number) => `chain_${n}`;
const blockName = (n: number, i: number) => `c${n}_b${i}`;

/** Two pipelines, chain_1 and chain_40, each with an API trigger in its triggers.yaml. */
function chainProject(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const n of [1, CHAIN]) {
    const blocks = Array.from({ length: n }, (_, i) =>
      i === 0
        ? `  - uuid: ${blockName(n, 0)}\n    type: data_loader\n    language: sql\n    upstream_blocks: []\n`
        : `  - uuid: ${blockName(n, i)}\n    type: transformer\n    language: sql\n    upstream_blocks: [${blockName(n, i - 1)}]\n`,
    );
    files[`pipelines/${pipelineName(n)}/metadata.yaml`] = `name: ${pipelineName(n)}\nuuid: ${pipelineName(n)}\ntype: batch\n\nblocks:\n${blocks.join('')}`;
    files[`pipelines/${pipelineName(n)}/triggers.yaml`] = `triggers:\n  - name: ${TRIGGER}\n    schedule_type: api\n    status: active\n`;
    files[`data_loaders/${blockName(n, 0)}.sql`] = 'SELECT 1 AS x\n';
    for (let i = 1; i < n; i++) files[`transformers/${blockName(n, i)}.sql`] = 'SELECT x + 1 AS x FROM {{ df_1 }}\n';
  }
  return files;
}

function field(value: unknown, key: string): unknown {
  return value && typeof value === 'object' ? Object.entries(value).find(([k]) => k === key)?.[1] : undefined;
}

function text(value: unknown, key: string): string {
  const v = field(value, key);
  if (typeof v !== 'string') throw new Error(`no string "${key}" in ${JSON.stringify(value)?.slice(0, 300)}`);
  return v;
}

/**
 * One editor run of a whole pipeline: run_pipeline sent until its run_status is final. The run id
 * is learnt from its `running` status (the server makes it), so a late message of an earlier run
 * cannot end the wait. Checks the last block's output is the chain's length.
 */
async function editorRun(socket: SocketClient, n: number): Promise<number> {
  const ref = { project: PROJECT, pipeline: pipelineName(n) };
  const seen: { runId: string | null; last: number | null } = { runId: null, last: null };
  const started = performance.now();
  const done = socket.next((m: ServerMessage) => {
    if (m.type === 'error') return true;
    if ('pipeline' in m && m.pipeline !== ref.pipeline) return false;
    if (m.type === 'output' && m.block === blockName(n, n - 1)) seen.last = Number(m.preview.rows[0]?.x);
    if (m.type !== 'run_status') return false;
    if (m.status === 'running' && seen.runId === null) seen.runId = m.runId;
    return m.runId === seen.runId && FINISHED.has(m.status);
  });
  socket.send({ type: 'run_pipeline', ...ref });
  const end = await done;
  const ms = performance.now() - started;
  if (end.type === 'error') throw new Error(`editor run of ${ref.pipeline}: ${end.message}`);
  if (end.type !== 'run_status' || end.status !== 'completed') throw new Error(`editor run of ${ref.pipeline} ended ${JSON.stringify(end)}`);
  if (seen.last !== n) throw new Error(`editor run of ${ref.pipeline}: the last block's x is ${seen.last}, not ${n}`);
  return ms;
}

/**
 * One API-triggered run: POST to the trigger's runs URL, then GET /api/runs/<id> until the run is
 * finished. The time is from just before the POST to the completed_at the store recorded (so the
 * poll interval adds no quantisation; the poll is slow to leave the worker the CPU).
 */
async function triggeredRun(base: string, ownerToken: string, triggerToken: string, n: number): Promise<number> {
  const startedAt = Date.now();
  const posted = await call(base, 'POST', `/api/projects/${PROJECT}/pipelines/${pipelineName(n)}/triggers/${TRIGGER}/runs`, { bearer: triggerToken, body: { variables: {} } });
  if (posted.status !== 201) throw new Error(`POST runs of ${pipelineName(n)}: ${posted.status} ${posted.text.slice(0, 300)}`);
  const id = text(field(posted.json, 'run'), 'id');
  const deadline = Date.now() + 120_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const got = await call(base, 'GET', `/api/runs/${id}`, { bearer: ownerToken });
    if (got.status !== 200) throw new Error(`GET /api/runs/${id}: ${got.status} ${got.text.slice(0, 300)}`);
    const run = field(got.json, 'run');
    const status = text(run, 'status');
    if (FINISHED.has(status)) {
      if (status !== 'completed') throw new Error(`triggered run ${id} of ${pipelineName(n)} ${status}: ${got.text.slice(0, 1000)}`);
      const blocks = field(got.json, 'blocks');
      if (!Array.isArray(blocks) || blocks.length !== n) throw new Error(`triggered run ${id}: ${Array.isArray(blocks) ? blocks.length : 'no'} block runs, not ${n}`);
      const completedAt = Date.parse(text(run, 'completed_at'));
      if (!Number.isFinite(completedAt)) throw new Error(`triggered run ${id}: completed_at is not a time`);
      return completedAt - startedAt;
    }
    if (Date.now() > deadline) throw new Error(`triggered run ${id} of ${pipelineName(n)} is still ${status} after 120 s`);
  }
}

/** How many runs of the project the run history holds, by kind: that each host recorded its runs. */
async function recordedKinds(base: string, ownerToken: string): Promise<string> {
  const got = await call(base, 'GET', `/api/runs?project=${PROJECT}&limit=1000`, { bearer: ownerToken });
  const runs = field(got.json, 'runs');
  if (got.status !== 200 || !Array.isArray(runs)) return `the run list answered ${got.status} ${got.text.slice(0, 200)}`;
  const counts = new Map<string, number>();
  for (const r of runs) {
    const kind = String(field(r, 'kind'));
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([k, c]) => `${c} ${k}`).join(', ') || 'none';
}

/** `grimoire run` of a one-block pipeline, from the command's start to its exit (issue #18). */
const CLI_ONE_BLOCK_GOAL_MS = 450;

/** A run's times: `wall` from the host's point of view; `run` what the per-block figure subtracts (see measure). */
interface Timed {
  wall: number;
  run: number;
}

/**
 * Warm-up pair, then `runs` timed pairs: the per-block overhead of each pair, and the totals.
 * The per-block figure subtracts `run` times: for `grimoire run` the run as the command times it
 * (kernel start included, Node's start and loading the CLI not), since a process start that varies
 * by ±1 s on a busy machine would swamp a difference of a few hundred ms; the same figure from the
 * command's wall time is reported too, without a goal.
 */
async function measure(host: string, goalMs: number, bench: OrchestrationBench, once: (n: number) => Promise<Timed>): Promise<void> {
  bench.log(`  ${host}: warm-up`);
  await once(1);
  await once(CHAIN);
  const one: Timed[] = [];
  const chain: Timed[] = [];
  for (let i = 0; i < bench.runs; i++) {
    bench.log(`  ${host}: pair ${i + 1}/${bench.runs}`);
    one.push(await once(1));
    chain.push(await once(CHAIN));
  }
  const perBlock = (key: keyof Timed) => chain.map((t, i) => (t[key] - (one[i]?.[key] ?? NaN)) / (CHAIN - 1));
  bench.report(summarize(`orchestration_per_block_${host}`, 'ms', perBlock('run'), { text: `<= ${goalMs}`, ok: (m) => m <= goalMs }));
  if (chain.some((t) => t.run !== t.wall)) bench.report(summarize(`orchestration_per_block_${host}_wall`, 'ms', perBlock('wall')));
  // Issue #18's start-up goal: `grimoire run` of a one-block pipeline, wall time, recorded.
  const oneBlockGoal = host === 'cli' ? { text: `<= ${CLI_ONE_BLOCK_GOAL_MS}`, ok: (m: number) => m <= CLI_ONE_BLOCK_GOAL_MS } : undefined;
  bench.report(summarize(`orchestration_1_block_${host}`, 'ms', one.map((t) => t.wall), oneBlockGoal));
  bench.report(summarize(`orchestration_${CHAIN}_blocks_${host}`, 'ms', chain.map((t) => t.wall)));
}

/** "Completed: 40 of 40 blocks succeeded in 1.23 s" (or "in 914 ms") -> ms. */
function cliRunMs(stdout: string, n: number): number {
  const m = new RegExp(`Completed: ${n} of ${n} blocks succeeded in (\\d+(?:\\.\\d+)?) (ms|s)\\s*$`, 'm').exec(stdout);
  if (!m) throw new Error(`grimoire run ${pipelineName(n)} did not complete:\n${stdout}`);
  return m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]);
}

export async function orchestrationFigures(bench: OrchestrationBench): Promise<void> {
  // Loaded here, not at the top: it brings Next, which the other sections do not need.
  const { startServer } = await import('../../lib/server/start');
  const project = await writeProject(PROJECT, chainProject());
  // A database of its own: no runs, triggers or users of another bench run. `grimoire run` gets it
  // too and runs with its defaults (no --no-record), so the CLI figure includes recording the run.
  const pgDir = await mkdtemp(path.join(os.tmpdir(), 'grimoire-bench-pg-'));
  const pg = await startEmbeddedPostgres(path.join(pgDir, 'postgres'));
  const saved = { DATABASE_URL: process.env.DATABASE_URL, GRIMOIRE_TOKEN: process.env.GRIMOIRE_TOKEN };
  process.env.DATABASE_URL = pg.url;
  // A random start token of the server's own; with no users it signs scripts in as the owner.
  delete process.env.GRIMOIRE_TOKEN;
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  let socket: SocketClient | null = null;
  try {
    bench.log('orchestration: starting the server (runs `next build` first if the build is missing or older than the sources)');
    server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: project.root, dev: false });
    const ownerToken = server.startToken;
    if (!ownerToken) throw new Error('the server has no start token to sign in with (GRIMOIRE_TOKEN set and users exist?)');
    const base = server.url;

    socket = await openSocketClient(base, { token: ownerToken });
    const editor = socket;
    for (const n of [1, CHAIN]) editor.send({ type: 'subscribe', project: PROJECT, pipeline: pipelineName(n) });
    await measure('editor', 10, bench, async (n) => {
      const ms = await editorRun(editor, n);
      return { wall: ms, run: ms };
    });

    const cliEnv = { ...process.env, DATABASE_URL: pg.url };
    let toldUnrecorded = false;
    await measure('cli', 10, bench, async (n) => {
      const r = await bench.run(process.execPath, ['bin/grimoire.js', 'run', project.dir, pipelineName(n)], cliEnv);
      // Recorded by default since issue #14 (the database is reachable): say so if it was not.
      const unrecorded = r.stdout.split('\n').find((l) => l.includes('not recorded'));
      if (unrecorded && !toldUnrecorded) bench.log(`  cli: ${unrecorded}`);
      toldUnrecorded ||= unrecorded !== undefined;
      return { wall: r.ms, run: cliRunMs(r.stdout, n) };
    });

    const tokens = new Map<number, string>();
    for (const n of [1, CHAIN]) {
      const minted = await call(base, 'POST', `/api/projects/${PROJECT}/pipelines/${pipelineName(n)}/triggers/${TRIGGER}/token`, { bearer: ownerToken, body: {} });
      if (minted.status !== 200) throw new Error(`trigger token of ${pipelineName(n)}: ${minted.status} ${minted.text.slice(0, 300)}`);
      tokens.set(n, text(minted.json, 'token'));
    }
    await measure('triggered', 15, bench, async (n) => {
      const ms = await triggeredRun(base, ownerToken, tokens.get(n) ?? '', n);
      return { wall: ms, run: ms };
    });
    bench.log(`orchestration: runs in the run history by kind: ${await recordedKinds(base, ownerToken)}`);
  } finally {
    socket?.close();
    await server?.close();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await pg.stop();
    await rm(pgDir, { recursive: true, force: true });
    await project.cleanup();
  }
}
