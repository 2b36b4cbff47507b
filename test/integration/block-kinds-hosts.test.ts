/**
 * Every block kind of test/fixtures/projects/block_kinds through the hosts users run them with:
 * `grimoire run` (runCommand in this process, recording into the run history) and a worker taking
 * a queued (triggered) run, with the same assertions on what the store recorded: fan-out children
 * as block runs of their own (a failed child retried alone), nested fan-out and reduce,
 * conditionals, callbacks, a sensor satisfied once a file appears and one that times out, a cache
 * hit (and `--no-cache`), and ctx.runs.trigger waiting for another pipeline (nested in `grimoire
 * run`, queued for the workers otherwise), failing when it fails.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../../lib/cli/run-command';
import { postgresUrl } from '../../lib/db/embedded-postgres';
import { type PipelineRunStatus } from '../../lib/run/states';
import { type RunDetail } from '../../lib/store/run-repository';
import { Store } from '../../lib/store/store';
import { Worker } from '../../lib/worker/worker';
import { dataDirOf } from '../../lib/project/paths';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { tempProjects } from '../support/projects';

const FINISHED: readonly PipelineRunStatus[] = ['completed', 'failed', 'cancelled'];

let pg: TestPostgres;
let database: string;
let store: Store;
let projects: Awaited<ReturnType<typeof tempProjects>>;
let projectDir: string;
let worker: Worker;
let savedDatabaseUrl: string | undefined;

before(async () => {
  pg = await testPostgres();
  database = `g_kinds_${randomBytes(4).toString('hex')}`;
  const admin = await pg.client();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = postgresUrl({ ...pg.coordinates, database });
  store = await Store.open({ url });
  savedDatabaseUrl = process.env.DATABASE_URL;
  // `grimoire run` records into the history DATABASE_URL names.
  process.env.DATABASE_URL = url;
  projects = await tempProjects({ kinds: 'test/fixtures/projects/block_kinds' });
  projectDir = path.join(projects.root, 'kinds');
});

after(async () => {
  await worker?.stop();
  await store?.close();
  if (savedDatabaseUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedDatabaseUrl;
  const admin = await pg.client();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  await pg.close();
  await projects?.cleanup();
});

async function finished(runId: string, timeoutMs = 90_000): Promise<RunDetail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await store.runs.detail(runId);
    if (d && FINISHED.includes(d.run.status)) return d;
    if (Date.now() > deadline) throw new Error(`timed out waiting for run ${runId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Host = (pipeline: string, variables?: Record<string, unknown>) => Promise<RunDetail>;

let printed = '';
const cliHost: Host = async (pipeline, variables = {}) => {
  const before = new Set((await store.runs.list({ kind: 'cli', pipeline })).map((r) => r.id));
  printed = '';
  await runCommand(projectDir, pipeline, { runtimeVars: JSON.stringify(variables) }, { write: (t) => (printed += t) });
  const run = (await store.runs.list({ kind: 'cli', pipeline })).find((r) => !before.has(r.id));
  assert.ok(run, `the run of ${pipeline} was recorded:\n${printed}`);
  const detail = await store.runs.detail(run.id);
  assert.ok(detail);
  return detail;
};

const workerHost: Host = async (pipeline, variables = {}) => {
  const run = await store.runs.create({ project: 'kinds', pipeline, kind: 'manual', executionDate: new Date(), variables: JSON.parse(JSON.stringify(variables)) });
  assert.ok(run);
  return finished(run.id);
};

const statusOf = (detail: RunDetail, block: string) => detail.blocks.find((b) => b.block_uuid === block)?.status;
const blockRun = (detail: RunDetail, block: string) => detail.blocks.find((b) => b.block_uuid === block);
const recorded = async (name: string) => JSON.parse(await fs.readFile(path.join(dataDirOf(projectDir), `callback-${name}.json`), 'utf8')) as Record<string, unknown>;

for (const [name, host] of [['grimoire run', cliHost], ['a worker', workerHost]] as const) {
  describe(`every block kind through ${name}`, () => {
    before(async () => {
      if (host === workerHost && !worker) {
        // One slot: a run waiting for the run it triggered lends it, or the two would wait forever.
        worker = new Worker({ store, projectsDir: projects.root, concurrency: 1 });
        await worker.start();
      }
      // Each host starts from the same files: the fixture's flaky child fails once per host.
      await fs.rm(dataDirOf(projectDir), { recursive: true, force: true });
    });

    test('fan-out: children are block runs of their own, after the planned blocks; a failed child retries alone', async () => {
      const detail = await host('fan_out');
      assert.equal(detail.run.status, 'completed');
      const names = detail.blocks.map((b) => b.block_uuid);
      assert.deepEqual(names.slice(0, 4), ['list_months', 'load_month', 'clean_month', 'summary']);
      assert.deepEqual(names.slice(4).sort(), ['clean_month:feb', 'clean_month:jan', 'clean_month:mar', 'load_month:feb', 'load_month:jan', 'load_month:mar']);
      assert.equal(blockRun(detail, 'clean_month:feb')?.attempts, 2);
      assert.equal(blockRun(detail, 'clean_month:jan')?.attempts, 1);
      assert.equal(blockRun(detail, 'summary')?.row_count, 1);
      assert.ok(blockRun(detail, 'clean_month')?.started_at, 'the group has a start time');
    });

    test('nested fan-out with reduce', async () => {
      const detail = await host('nested');
      assert.equal(detail.run.status, 'completed');
      for (const block of ['months', 'load', 'year_total', 'months:0', 'load:1:1', 'year_total:1']) assert.equal(statusOf(detail, block), 'completed', block);
    });

    test('conditionals: false skips the block and its downstream, the run completes', async () => {
      const detail = await host('conditions');
      assert.equal(detail.run.status, 'completed');
      assert.equal(statusOf(detail, 'skipped'), 'condition_failed');
      assert.equal(statusOf(detail, 'after_skipped'), 'condition_failed');
      assert.equal(statusOf(detail, 'gated'), 'completed');
      const off = await host('conditions', { flag: 'off' });
      assert.equal(statusOf(off, 'gated'), 'condition_failed');
    });

    test('callbacks: onSuccess and onFailure with the block run, its error and the variables', async () => {
      const detail = await host('callbacks', { fast: true, flag: name });
      assert.equal(statusOf(detail, 'good'), 'completed');
      assert.equal(statusOf(detail, 'bad'), 'failed');
      assert.deepEqual(await recorded('good'), { hook: 'onSuccess', status: 'completed', error: null, run: detail.run.id, pipeline: 'callbacks', flag: name });
      assert.match(String((await recorded('bad')).error), /bad on purpose/);
    });

    test('sensors: satisfied once the file appears; one never satisfied times out', async () => {
      const flag = path.join(dataDirOf(projectDir), 'ready.flag');
      await fs.mkdir(path.dirname(flag), { recursive: true });
      await fs.rm(flag, { force: true });
      const appear = setTimeout(() => void fs.writeFile(flag, 'ok'), 1500);
      try {
        const detail = await host('sensors');
        assert.equal(detail.run.status, 'completed');
        const sensor = blockRun(detail, 'wait_for_file');
        assert.ok(sensor?.started_at && sensor.completed_at && sensor.completed_at.getTime() - sensor.started_at.getTime() >= 1000, 'it waited for the file');
      } finally {
        clearTimeout(appear);
      }
      const timeout = await host('sensor_timeout');
      assert.equal(timeout.run.status, 'failed');
      assert.equal(statusOf(timeout, 'never_true'), 'failed');
      assert.match(JSON.stringify(blockRun(timeout, 'never_true')?.error), /the sensor timed out after 2 s/);
      assert.equal(statusOf(timeout, 'never_runs'), 'upstream_failed');
    });

    test('a cached block is reused on the next run', async () => {
      await host('cached');
      const hit = await host('cached');
      assert.equal(blockRun(hit, 'expensive')?.cached, true);
      if (host === cliHost) {
        let out = '';
        await runCommand(projectDir, 'cached', { useCache: false }, { write: (t) => (out += t) });
        const forced = (await store.runs.list({ kind: 'cli', pipeline: 'cached' }))[0];
        assert.equal((await store.runs.detail(forced?.id ?? ''))?.blocks.find((b) => b.block_uuid === 'expensive')?.cached, false, out);
      }
    });

    test('ctx.runs.trigger runs another pipeline and waits for it; a failed one fails the block', async () => {
      const detail = await host('trigger_parent');
      assert.equal(detail.run.status, 'completed', JSON.stringify(detail.blocks.map((b) => [b.block_uuid, b.status, b.error])));
      const triggered = (await store.runs.list({ pipeline: 'conditions' })).find((r) => r.started_by === `run:${detail.run.id}`);
      assert.equal(triggered?.status, 'completed');
      assert.equal(triggered?.kind, host === cliHost ? 'cli' : 'pipeline');
      assert.equal(statusOf((await store.runs.detail(triggered?.id ?? '')) ?? detail, 'gated'), 'condition_failed', 'its variables reached it');
      const failing = await host('trigger_failing');
      assert.equal(failing.run.status, 'failed');
      assert.match(JSON.stringify(blockRun(failing, 'start_callbacks')?.error), /pipeline callbacks did not complete|run .* of pipeline callbacks failed/);
    });

    test('a chain of triggers that comes back to a pipeline is refused, naming the chain (never a deadlock)', async () => {
      const detail = await host('cycle_a');
      assert.equal(detail.run.status, 'failed');
      const errors = JSON.stringify(await store.runs.list({ pipeline: 'cycle_b' }).then((runs) => Promise.all(runs.map((r) => store.runs.detail(r.id)))));
      assert.match(errors, /cycle_a is already running in this chain \(cycle_a -> cycle_b -> cycle_a\)/);
    });
  });
}
