import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type PipelineRunStatus } from '../../lib/run/states';
import { type Store } from '../../lib/store/store';
import { Worker } from '../../lib/worker/worker';
import { tempProjects } from '../support/projects';
import { testStore } from '../support/store';

let env: Awaited<ReturnType<typeof testStore>>;
let store: Store;
let projects: Awaited<ReturnType<typeof tempProjects>>;
let worker: Worker;

before(async () => {
  env = await testStore();
  store = env.store;
  projects = await tempProjects({ orch: 'test/fixtures/projects/orchestration' });
  worker = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
  await worker.start();
});
after(async () => {
  await worker?.stop();
  await env?.close();
  await projects?.cleanup();
});

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, debug?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${debug ? `: ${await debug()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const FINISHED: PipelineRunStatus[] = ['completed', 'failed', 'cancelled'];
async function finished(id: string, timeoutMs = 60_000) {
  return waitFor(`run ${id} to finish`, async () => {
    const d = await store.runs.detail(id);
    return d && FINISHED.includes(d.run.status) ? d : null;
  }, timeoutMs, async () => JSON.stringify(await store.runs.detail(id), null, 1));
}

async function newRun(pipeline: string, variables = {}, executionDate = new Date('2024-01-05T05:00:00Z')) {
  const run = await store.runs.create({ project: 'orch', pipeline, kind: 'manual', executionDate, variables });
  assert.ok(run);
  return run;
}

describe('runs through workers', () => {
  test('a run completes with runtime variables, block runs, events and logs stored', async () => {
    const run = await newRun('hello', { who: 'api' });
    const d = await finished(run.id);
    assert.equal(d.run.status, 'completed');
    assert.deepEqual(d.blocks.map((b) => [b.block_uuid, b.status, b.attempts, b.row_count]), [['hello', 'completed', 1, 1], ['after', 'completed', 1, 1]]);
    assert.deepEqual(d.events.filter((e) => e.block_uuid === 'hello').map((e) => e.status), ['queued', 'running', 'completed']);
    assert.deepEqual(d.events.filter((e) => e.block_uuid === null).map((e) => e.status), ['initial', 'running', 'completed']);
    const logs = await store.logs.list(run.id, { block: 'hello' });
    assert.ok(logs.some((l) => l.text === 'hello ds=2024-01-05 trigger=null who=api'), logs.map((l) => l.text).join('\n'));
    // The run cached its outputs in a folder of its own, removed once it completed; the editor's cache is untouched.
    assert.equal(existsSync(path.join(projects.root, 'orch', '.grimoire', 'runs', run.id)), false);
    assert.equal(existsSync(path.join(projects.root, 'orch', '.grimoire', 'cache', 'hello', 'hello.parquet')), false);
  });

  test('a failing block is retried by its retry_config and every attempt is kept', async () => {
    const run = await newRun('flaky');
    const d = await finished(run.id);
    assert.equal(d.run.status, 'completed');
    const flaky = d.attempts.filter((a) => a.block_uuid === 'flaky');
    assert.deepEqual(flaky.map((a) => [a.attempt, a.status]), [[1, 'failed'], [2, 'completed']]);
    assert.match(JSON.stringify(flaky[0]?.error), /flaky: first attempt/);
    assert.deepEqual(d.events.filter((e) => e.block_uuid === 'flaky').map((e) => e.status), ['queued', 'running', 'failed', 'queued', 'running', 'completed']);
  });

  test('a block over its timeout is stopped, retried, then fails the run; downstream is upstream_failed', async () => {
    const run = await newRun('timeout');
    const d = await finished(run.id);
    assert.equal(d.run.status, 'failed');
    assert.deepEqual(d.blocks.map((b) => [b.block_uuid, b.status, b.attempts]), [['hang', 'failed', 2], ['after', 'upstream_failed', 0]]);
    assert.ok(d.attempts.every((a) => /timed out after 1 s \(block timeout\)/.test(JSON.stringify(a.error))), JSON.stringify(d.attempts));
    assert.match(d.run.error ?? '', /failed: hang/);
  });

  test('independent branches of a run execute at the same time', async () => {
    const run = await newRun('branches');
    const d = await finished(run.id);
    assert.equal(d.run.status, 'completed');
    const span = (u: string) => {
      const b = d.blocks.find((x) => x.block_uuid === u);
      assert.ok(b?.started_at && b.completed_at, `${u} ran`);
      return { from: b.started_at, to: b.completed_at };
    };
    const [a, b] = [span('nap_a'), span('nap_b')];
    assert.ok(a.from < b.to && b.from < a.to, `nap_a ${a.from.toISOString()}..${a.to.toISOString()} and nap_b ${b.from.toISOString()}..${b.to.toISOString()} overlap`);
    assert.equal(d.blocks.find((x) => x.block_uuid === 'joined')?.row_count, 2);
  });

  test('a block timing out does not cost the branch beside it a retry', async () => {
    const run = await newRun('branch_timeout');
    const d = await finished(run.id);
    assert.equal(d.run.status, 'failed');
    assert.deepEqual(d.blocks.map((b) => [b.block_uuid, b.status]), [['hang', 'failed'], ['nap_a', 'completed']]);
    const napAttempts = d.attempts.filter((a) => a.block_uuid === 'nap_a');
    assert.deepEqual(napAttempts.map((a) => a.status), ['cancelled', 'completed']);
    assert.match(JSON.stringify(napAttempts[0]?.error), /stopped because hang timed out/);
  });

  test('a failed run is retried from its failed blocks; completed ones are not run again', async () => {
    const run = await newRun('retry_me');
    const first = await finished(run.id);
    assert.equal(first.run.status, 'failed');
    // A failed run keeps its outputs so that the retry can start from them.
    assert.equal(existsSync(path.join(projects.root, 'orch', '.grimoire', 'runs', run.id, 'cache')), true);
    await store.runs.retryFromFailed(run.id, new Date());
    worker.kick();
    const d = await waitFor('the retried run', async () => {
      const x = await store.runs.detail(run.id);
      return x && x.run.status === 'completed' ? x : null;
    });
    assert.deepEqual(d.blocks.map((b) => [b.block_uuid, b.status, b.attempts]), [['hello', 'completed', 1], ['fails_once', 'completed', 2]]);
    assert.equal(d.run.attempt, 2);
  });

  test('cancel stops a running run', async () => {
    const run = await newRun('restart_noretry');
    await waitFor('sleepy to run', async () => (await store.blockRuns.list(run.id)).find((b) => b.block_uuid === 'sleepy' && b.status === 'running'));
    const asked = Date.now();
    await store.runs.requestCancel(run.id, new Date());
    const d = await finished(run.id, 15_000);
    assert.ok(Date.now() - asked < 10_000);
    assert.equal(d.run.status, 'cancelled');
    assert.deepEqual(d.blocks.map((b) => b.status), ['cancelled', 'cancelled']);
  });

  test('a worker that stops (SIGTERM) mid-block hands the run back; the lost attempt does not count against retries', async () => {
    await worker.stop();
    const leaving = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    await leaving.start();
    const run = await newRun('restart_noretry');
    try {
      await waitFor('sleepy to sleep', async () => (await store.logs.list(run.id, { search: 'sleepy: sleeping' })).length > 0);
    } finally {
      await leaving.stop();
    }
    assert.equal((await store.runs.get(run.id))?.status, 'initial', 'handed back to the queue');
    worker = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    await worker.start();
    const d = await finished(run.id);
    // restart_noretry has no retries: only a lost attempt that does not count lets it complete.
    assert.equal(d.run.status, 'completed');
    assert.deepEqual(d.attempts.filter((a) => a.block_uuid === 'sleepy').map((a) => [a.attempt, a.status]), [[1, 'cancelled'], [2, 'completed']]);
  });

  test('two workers share the queue without running a run twice', async () => {
    const second = new Worker({ store: await env.open(), projectsDir: projects.root, concurrency: 2 });
    await second.start();
    try {
      const runs = await Promise.all([1, 2, 3, 4].map((i) => newRun('hello', { who: `w${i}` })));
      for (const r of runs) {
        const d = await finished(r.id);
        assert.equal(d.run.status, 'completed');
        assert.equal(d.run.attempt, 1);
        assert.equal(d.events.filter((e) => e.block_uuid === null && e.status === 'running').length, 1);
      }
    } finally {
      await second.stop();
    }
  });
});

describe('a worker process killed in the middle of a run', () => {
  async function killedMidRun(pipeline: string) {
    // Only the child worker may claim this run: pause ours.
    await worker.stop();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'support', 'worker-process.ts'), env.url, env.pg.schema, projects.root], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await waitFor('the child worker', async () => child.stdout?.readable && (await new Promise<boolean>((r) => child.stdout?.once('data', () => r(true)))));
      const run = await newRun(pipeline);
      // Its log line (flushed within 250 ms) says the block really is inside its first attempt.
      await waitFor('sleepy to sleep in the child', async () => (await store.logs.list(run.id, { search: 'sleepy: sleeping' })).length > 0);
      // The whole process group: the worker and its kernel, as a crash or `kill -9` would.
      process.kill(-(child.pid ?? 0), 'SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.equal((await store.runs.get(run.id))?.status, 'running', 'left running by the dead worker');
      return run;
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid ?? 0), 'SIGKILL');
      worker = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    }
  }

  test('on restart the run is found and its block retried (retry_config allows it)', async () => {
    const run = await killedMidRun('restart');
    await worker.start(); // recovery runs first
    const d = await finished(run.id);
    assert.equal(d.run.status, 'completed');
    const sleepy = d.attempts.filter((a) => a.block_uuid === 'sleepy');
    assert.deepEqual(sleepy.map((a) => [a.attempt, a.status]), [[1, 'failed'], [2, 'completed']]);
    assert.match(JSON.stringify(sleepy[0]?.error), /worker running this block stopped/);
  });

  test('on restart a run whose block has no retries left is failed, not left running', async () => {
    const run = await killedMidRun('restart_noretry');
    await worker.start();
    const d = await finished(run.id);
    assert.equal(d.run.status, 'failed');
    assert.deepEqual(d.blocks.map((b) => [b.block_uuid, b.status]), [['sleepy', 'failed'], ['after', 'upstream_failed']]);
    assert.ok(d.events.some((e) => e.block_uuid === 'sleepy' && /no retries left/.test(e.message ?? '')));
  });
});
