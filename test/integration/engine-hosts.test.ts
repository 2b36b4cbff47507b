/**
 * The run engine's behaviour, one suite run against each of its three hosts: the editor's
 * PipelineSession, `grimoire run` (runCommand in this process) and a worker taking a queued run.
 * Every host records its runs in the same store, so each case reads the outcome back the same way:
 * retries with back-off, block and run timeouts, a block stopped by another's timeout, cancel,
 * upstream_failed, the block_run_limit cap, and the code each run pinned.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../../lib/cli/run-command';
import { postgresUrl } from '../../lib/db/embedded-postgres';
import { type PipelineRunStatus } from '../../lib/run/states';
import { PipelineSession } from '../../lib/server/pipeline-session';
import { holdPresence, type Presence } from '../../lib/store/presence';
import { type RunDetail } from '../../lib/store/run-repository';
import { Store } from '../../lib/store/store';
import { Worker } from '../../lib/worker/worker';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { tempProjects } from '../support/projects';

const FINISHED: readonly PipelineRunStatus[] = ['completed', 'failed', 'cancelled'];

interface Host {
  name: 'editor' | 'cli' | 'worker';
  /** Starts a run of `pipeline`; resolves with its id once it is recorded. */
  start(pipeline: string, options?: { runTimeoutSeconds?: number }): Promise<string>;
  /** Cancels the run as the host's user would (Interrupt, Ctrl-C, Cancel on the run page). */
  cancel(runId: string): Promise<void>;
  /** Waits for whatever the host still does after the run finished (the CLI's exit). */
  settle(): Promise<void>;
  /** What the host printed for its user (the CLI's output); empty for the others. */
  printed(): string;
}

let pg: TestPostgres;
let database: string;
let store: Store;
let projects: Awaited<ReturnType<typeof tempProjects>>;
let projectDir: string;
let worker: Worker;
const sessions: PipelineSession[] = [];
let editorPresence: Presence | null = null;
let savedDatabaseUrl: string | undefined;

before(async () => {
  pg = await testPostgres();
  // A database of its own: `grimoire run` records into the schema `grimoire start` uses.
  database = `g_engine_${randomBytes(4).toString('hex')}`;
  const admin = await pg.client();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = postgresUrl({ ...pg.coordinates, database });
  store = await Store.open({ url });
  savedDatabaseUrl = process.env.DATABASE_URL;
  process.env.DATABASE_URL = url;
  projects = await tempProjects({ orch: 'test/fixtures/projects/orchestration' });
  projectDir = path.join(projects.root, 'orch');
  worker = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
  await worker.start();
  // The editor's runs are owned by a live server: without its presence, the worker's recovery
  // would take them for a dead server's and fail them.
  editorPresence = await holdPresence({ url, workers: store.workers, ownerId: 'editor-test', kind: 'server' });
});

after(async () => {
  await worker?.stop();
  for (const s of sessions) await s.close();
  await editorPresence?.release();
  await store?.close();
  if (savedDatabaseUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedDatabaseUrl;
  const admin = await pg.client();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  await pg.close();
  await projects?.cleanup();
});

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function finished(runId: string): Promise<RunDetail> {
  return waitFor(`run ${runId} to finish`, async () => {
    const d = await store.runs.detail(runId);
    return d && FINISHED.includes(d.run.status) ? d : null;
  });
}

const editorHost = (): Host => ({
  name: 'editor',
  async start(pipeline) {
    const session = new PipelineSession(projectDir, 'orch', pipeline, () => undefined, {}, 'tester', undefined, { store, ownerId: 'editor-test' });
    sessions.push(session);
    const runId = await session.run({ kind: 'pipeline' });
    await waitFor('the editor run to be recorded', () => store.runs.get(runId));
    return runId;
  },
  async cancel() {
    await sessions[sessions.length - 1]?.interrupt();
  },
  async settle() {},
  printed: () => '',
});

function cliHost(): Host {
  let running: Promise<boolean> | null = null;
  let out = '';
  return {
    name: 'cli',
    async start(pipeline, options = {}) {
      const before = new Set((await store.runs.list({ kind: 'cli' })).map((r) => r.id));
      out = '';
      running = runCommand(projectDir, pipeline, options.runTimeoutSeconds ? { timeout: String(options.runTimeoutSeconds) } : {}, { write: (text) => (out += text) });
      const run = await waitFor('the CLI run to be recorded', async () => (await store.runs.list({ kind: 'cli' })).find((r) => !before.has(r.id)));
      return run.id;
    },
    async cancel() {
      // What Ctrl-C delivers: the CLI's own handler cancels the run.
      process.emit('SIGINT', 'SIGINT');
    },
    async settle() {
      await running;
    },
    printed: () => out,
  };
}

const workerHost = (): Host => ({
  name: 'worker',
  async start(pipeline, options = {}) {
    const run = await store.runs.create({ project: 'orch', pipeline, kind: 'manual', executionDate: new Date(), timeoutSeconds: options.runTimeoutSeconds ?? null });
    assert.ok(run);
    return run.id;
  },
  async cancel(runId) {
    await store.runs.requestCancel(runId, new Date());
  },
  async settle() {},
  printed: () => '',
});

const attemptsOf = (d: RunDetail, block: string) => d.attempts.filter((a) => a.block_uuid === block).map((a) => [a.attempt, a.status]);
const statusesOf = (d: RunDetail) => Object.fromEntries(d.blocks.map((b) => [b.block_uuid, b.status]));

for (const makeHost of [editorHost, cliHost, workerHost]) {
  const host = makeHost();
  describe(`the run engine through the ${host.name}`, { timeout: 300_000 }, () => {
    test('retry_config retries a failed block with back-off; the run records who started it and the code it ran', async () => {
      const runId = await host.start('flaky');
      const d = await finished(runId);
      await host.settle();
      assert.equal(d.run.status, 'completed');
      assert.deepEqual(attemptsOf(d, 'flaky'), [[1, 'failed'], [2, 'completed']]);
      assert.deepEqual(statusesOf(d), { flaky: 'completed', after: 'completed' });
      assert.ok(d.events.some((e) => e.block_uuid === 'flaky' && e.status === 'queued' && /retry 1 of 2 in 0\.1 s/.test(e.message ?? '')));
      const expected = { editor: ['editor', 'tester'], cli: ['cli', `cli:${os.userInfo().username}`], worker: ['manual', null] }[host.name];
      assert.deepEqual([d.run.kind, d.run.started_by], expected);
      const code = await store.code.ofRun(runId);
      assert.deepEqual(code.map((c) => c.path), ['data_loaders/flaky.ts', 'pipelines/flaky/metadata.yaml', 'transformers/after.ts']);
      assert.equal(code[0]?.content, await fs.readFile(path.join(projectDir, 'data_loaders', 'flaky.ts'), 'utf8'));
      const logs = await store.logs.list(runId, { block: 'flaky' });
      assert.deepEqual(
        logs.filter((l) => l.stream === 'stdout').map((l) => [l.attempt, l.text]),
        [[1, 'flaky: first attempt fails'], [2, 'flaky: second attempt works']],
      );
      if (host.name === 'cli') {
        // Each attempt is printed: the failure, the wait before the retry, the retry itself.
        assert.match(host.printed(), /^flaky\s+failed\s+/m);
        assert.match(host.printed(), /^flaky\s+queued\s+retry 1 of 2 in 0\.1 s$/m);
        assert.match(host.printed(), /^flaky\s+running\s+attempt 2$/m);
        assert.match(host.printed(), /^flaky\s+completed\s+1 row\s/m);
        assert.match(host.printed(), new RegExp(`^Recorded in the run history as run ${runId}$`, 'm'));
      }
    });

    test('a block over its timeout is stopped and retried, then fails the run; its downstream is upstream_failed', async () => {
      const d = await finished(await host.start('timeout'));
      await host.settle();
      assert.equal(d.run.status, 'failed');
      assert.deepEqual(attemptsOf(d, 'hang'), [[1, 'failed'], [2, 'failed']]);
      assert.match(JSON.stringify(d.attempts.find((a) => a.block_uuid === 'hang')?.error), /timed out after 1 s \(block timeout\)/);
      assert.deepEqual(statusesOf(d), { hang: 'failed', after: 'upstream_failed' });
    });

    test('a block stopped only because another timed out in the same kernel runs again without losing a retry', async () => {
      const d = await finished(await host.start('branch_timeout'));
      await host.settle();
      assert.deepEqual(statusesOf(d), { hang: 'failed', nap_a: 'completed' });
      assert.equal(d.run.status, 'failed');
      const napA = d.attempts.filter((a) => a.block_uuid === 'nap_a');
      assert.deepEqual(napA.map((a) => a.status), ['cancelled', 'completed']);
    });

    test('cancel stops the running block and cancels the blocks still waiting', async () => {
      const runId = await host.start('restart_noretry');
      await waitFor('sleepy to run', async () => (await store.logs.list(runId, { search: 'sleepy: sleeping' })).length > 0);
      const asked = Date.now();
      await host.cancel(runId);
      const d = await finished(runId);
      await host.settle();
      assert.ok(Date.now() - asked < 10_000, 'the cancel took too long');
      assert.equal(d.run.status, 'cancelled');
      assert.deepEqual(statusesOf(d), { sleepy: 'cancelled', after: 'cancelled' });
    });

    test('concurrency_config.block_run_limit: 1 runs independent blocks one after the other', async () => {
      const d = await finished(await host.start('limited'));
      await host.settle();
      assert.equal(d.run.status, 'completed');
      const [a, b] = ['nap_a', 'nap_b'].map((u) => d.attempts.find((x) => x.block_uuid === u));
      assert.ok(a?.finished_at && b?.finished_at);
      const overlap = a.started_at < b.finished_at && b.started_at < a.finished_at;
      assert.equal(overlap, false, `nap_a ${a.started_at.toISOString()}..${a.finished_at.toISOString()} overlaps nap_b ${b.started_at.toISOString()}..${b.finished_at.toISOString()}`);
    });

    if (host.name !== 'editor') {
      // The editor has no run timeout: a notebook run ends when its blocks do or the user interrupts it.
      test('the run timeout stops the run; nothing retries past it', async () => {
        const d = await finished(await host.start('run_timeout', { runTimeoutSeconds: 2 }));
        await host.settle();
        assert.equal(d.run.status, 'failed');
        assert.deepEqual(attemptsOf(d, 'hang'), [[1, 'failed']]);
        assert.match(JSON.stringify(d.attempts[0]?.error), /timed out after 2 s \(run timeout\)/);
        assert.deepEqual(statusesOf(d), { hang: 'failed', after: 'upstream_failed' });
      });
    }
  });
}
