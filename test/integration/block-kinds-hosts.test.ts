/**
 * The block kinds through the hosts users run them with: `grimoire run` (runCommand in this
 * process, recording into the run history) and a worker taking a queued (triggered) run. Fan-out
 * children become block runs of their own in the store; a cached block reuses its output and
 * `--no-cache` runs it; ctx.runs.trigger starts another pipeline (nested in `grimoire run`,
 * queued for the workers otherwise) and waits for it, failing when it fails; check_status.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../../lib/cli/run-command';
import { postgresUrl } from '../../lib/db/embedded-postgres';
import { type PipelineRunStatus } from '../../lib/run/states';
import { type RunDetail } from '../../lib/store/run-repository';
import { Store } from '../../lib/store/store';
import { Worker } from '../../lib/worker/worker';
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

async function cli(pipeline: string, options: { noCache?: boolean } = {}): Promise<{ ok: boolean; out: string; detail: RunDetail }> {
  let out = '';
  const before = new Set((await store.runs.list({ kind: 'cli', pipeline })).map((r) => r.id));
  const ok = await runCommand(projectDir, pipeline, options.noCache ? { useCache: false } : {}, { write: (t) => (out += t) });
  const run = (await store.runs.list({ kind: 'cli', pipeline })).find((r) => !before.has(r.id));
  assert.ok(run, `the run of ${pipeline} was recorded:\n${out}`);
  const detail = await store.runs.detail(run.id);
  assert.ok(detail);
  return { ok, out, detail };
}

const statusOf = (detail: RunDetail, block: string) => detail.blocks.find((b) => b.block_uuid === block)?.status;

describe('grimoire run', () => {
  test('a fan-out records each child as a block run of its own, after the planned blocks', async () => {
    const { ok, out, detail } = await cli('fan_out');
    assert.ok(ok, out);
    const names = detail.blocks.map((b) => b.block_uuid);
    assert.deepEqual(names.slice(0, 4), ['list_months', 'load_month', 'clean_month', 'summary']);
    assert.deepEqual(names.slice(4).sort(), ['clean_month:feb', 'clean_month:jan', 'clean_month:mar', 'load_month:feb', 'load_month:jan', 'load_month:mar']);
    assert.equal(statusOf(detail, 'clean_month:feb'), 'completed');
    assert.equal(detail.blocks.find((b) => b.block_uuid === 'clean_month:feb')?.attempts, 2);
    assert.match(out, /clean_month:feb/);
  });

  test('a cached block is reused on the next run and run again with --no-cache', async () => {
    await cli('cached');
    const hit = await cli('cached');
    assert.equal(hit.detail.blocks.find((b) => b.block_uuid === 'expensive')?.cached, true, hit.out);
    const forced = await cli('cached', { noCache: true });
    assert.equal(forced.detail.blocks.find((b) => b.block_uuid === 'expensive')?.cached, false, forced.out);
  });

  test('ctx.runs.trigger runs another pipeline here and waits; check_status sees it', async () => {
    const { ok, out, detail } = await cli('trigger_parent');
    assert.ok(ok, out);
    assert.equal(statusOf(detail, 'start_conditions'), 'completed');
    const nested = (await store.runs.list({ pipeline: 'conditions', kind: 'cli' }))[0];
    assert.equal(nested?.started_by, `run:${detail.run.id}`);
    const nestedDetail = await store.runs.detail(nested?.id ?? '');
    assert.equal(statusOf(nestedDetail ?? detail, 'gated'), 'condition_failed', 'the variables reached the nested run');
    assert.match(out, /trigger_parent > /);
  });

  test('a triggered run that fails fails the block that waited for it, naming it', async () => {
    const { ok, out, detail } = await cli('trigger_failing');
    assert.equal(ok, false);
    assert.equal(statusOf(detail, 'start_callbacks'), 'failed');
    assert.match(JSON.stringify(detail.blocks.find((b) => b.block_uuid === 'start_callbacks')?.error), /pipeline callbacks did not complete/, out);
  });
});

describe('a worker', () => {
  before(async () => {
    // Two at once: a run waiting for the run it triggered must leave room for it.
    worker = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    await worker.start();
  });

  test('a queued fan-out run records its children, their statuses and the group', async () => {
    const run = await store.runs.create({ project: 'kinds', pipeline: 'nested', kind: 'manual', executionDate: new Date() });
    assert.ok(run);
    const detail = await finished(run.id);
    assert.equal(detail.run.status, 'completed');
    for (const name of ['months', 'load', 'year_total', 'months:0', 'load:1:1', 'year_total:1']) assert.equal(statusOf(detail, name), 'completed', name);
  });

  test('ctx.runs.trigger queues the other pipeline for the workers and waits for it', async () => {
    const run = await store.runs.create({ project: 'kinds', pipeline: 'trigger_parent', kind: 'manual', executionDate: new Date() });
    assert.ok(run);
    const detail = await finished(run.id);
    assert.equal(detail.run.status, 'completed', JSON.stringify(detail.blocks));
    const triggered = (await store.runs.list({ pipeline: 'conditions', kind: 'pipeline' })).find((r) => r.started_by === `run:${run.id}`);
    assert.equal(triggered?.status, 'completed');
  });

  test('conditionals, callbacks and sensors behave the same in a worker', async () => {
    const cond = await store.runs.create({ project: 'kinds', pipeline: 'conditions', kind: 'manual', executionDate: new Date() });
    const timeout = await store.runs.create({ project: 'kinds', pipeline: 'sensor_timeout', kind: 'manual', executionDate: new Date() });
    assert.ok(cond && timeout);
    const c = await finished(cond.id);
    assert.equal(c.run.status, 'completed');
    assert.equal(statusOf(c, 'skipped'), 'condition_failed');
    assert.equal(statusOf(c, 'after_skipped'), 'condition_failed');
    const t = await finished(timeout.id);
    assert.equal(t.run.status, 'failed');
    assert.equal(statusOf(t, 'never_runs'), 'upstream_failed');
  });
});
