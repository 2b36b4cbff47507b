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

  test('two jobs for one run, reaching two loops of a worker at once: the run is claimed and run once', async () => {
    for (let round = 0; round < 3; round++) {
      // Both jobs appear together (one commit), as when a freed slot and the idle sweep both enqueue a run.
      const run = await store.tx(async (c) => {
        const made = await store.runs.create({ project: 'orch', pipeline: 'hello', kind: 'manual', executionDate: new Date('2024-01-05T05:00:00Z'), variables: {} }, c);
        assert.ok(made);
        await store.runs.enqueue(made.id, c);
        return made;
      });
      const d = await finished(run.id);
      assert.equal(d.run.status, 'completed');
      assert.equal(d.events.filter((e) => e.block_uuid === null && /claimed by worker/.test(e.message ?? '')).length, 1, 'one claim');
      assert.deepEqual(d.attempts.map((a) => [a.block_uuid, a.attempt]), [['hello', 1], ['after', 1]], 'each block ran once');
    }
  });

  test("a run whose code cannot be pinned stops and fails with the store's error, its blocks' history never half-written", async () => {
    const pin = store.code.pin.bind(store.code);
    store.code.pin = async () => {
      throw new Error('pin refused by the test');
    };
    try {
      const run = await newRun('hello');
      const d = await finished(run.id);
      assert.equal(d.run.status, 'failed');
      assert.match(d.run.error ?? '', /pin refused by the test/);
      // Stopped before any block ran: an attempt, if one was recorded at all, was cancelled before it started.
      assert.deepEqual(d.attempts.filter((a) => a.status !== 'cancelled'), [], 'no block ran');
      assert.ok(d.attempts.every((a) => /before the block started/.test(JSON.stringify(a.error))), JSON.stringify(d.attempts));
    } finally {
      store.code.pin = pin;
    }
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

  test('a worker that stops (SIGTERM) drains: the running block finishes in the grace period, the next one runs elsewhere', async () => {
    await worker.stop();
    const leaving = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    await leaving.start();
    const run = await newRun('drain');
    let stoppedIn = 0;
    try {
      await waitFor('short_nap to nap', async () => (await store.logs.list(run.id, { search: 'short_nap: napping' })).length > 0);
    } finally {
      const began = Date.now();
      await leaving.stop(20_000);
      stoppedIn = Date.now() - began;
    }
    // It waited for the 3 s nap, not for the whole grace period.
    assert.ok(stoppedIn < 10_000, `stop took ${stoppedIn} ms`);
    const handedBack = await store.runs.detail(run.id);
    assert.equal(handedBack?.run.status, 'initial', 'handed back to the queue');
    assert.deepEqual(handedBack?.blocks.map((b) => [b.block_uuid, b.status]), [['short_nap', 'completed'], ['after', 'queued']]);
    assert.equal((await store.workers.list()).find((w) => w.id === leaving.id)?.status, 'stopped');
    worker = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    await worker.start();
    const d = await finished(run.id);
    assert.equal(d.run.status, 'completed');
    assert.deepEqual(d.attempts.map((a) => [a.block_uuid, a.attempt, a.status]), [['short_nap', 1, 'completed'], ['after', 1, 'completed']]);
  });

  test('a worker whose grace period ends mid-block hands the run back; the lost attempt does not count against retries', async () => {
    await worker.stop();
    const leaving = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    await leaving.start();
    const run = await newRun('restart_noretry');
    try {
      await waitFor('sleepy to sleep', async () => (await store.logs.list(run.id, { search: 'sleepy: sleeping' })).length > 0);
    } finally {
      await leaving.stop(500);
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
      return { run, childId: `child-${child.pid}`, killedAt: Date.now() };
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid ?? 0), 'SIGKILL');
      worker = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    }
  }

  test('another worker takes the run over within the heartbeat timeout and attempts the block again', async () => {
    const { run, childId, killedAt } = await killedMidRun('restart');
    await worker.start();
    await waitFor('the run to be moved', async () => (await store.runs.get(run.id))?.status !== 'running' || (await store.runs.get(run.id))?.worker_id === worker.id);
    const movedIn = Date.now() - killedAt;
    // LOST_AFTER_SECONDS (10) plus a heartbeat (2) and a little.
    assert.ok(movedIn < 15_000, `moved after ${movedIn} ms`);
    const d = await finished(run.id);
    assert.equal(d.run.status, 'completed');
    const sleepy = d.attempts.filter((a) => a.block_uuid === 'sleepy');
    assert.deepEqual(sleepy.map((a) => [a.attempt, a.status]), [[1, 'failed'], [2, 'completed']]);
    assert.match(JSON.stringify(sleepy[0]?.error), /worker running this block stopped/);
    const lost = (await store.workers.list()).find((w) => w.id === childId);
    assert.equal(lost?.status, 'lost');
    assert.deepEqual(lost?.moved_runs, [run.id]);
  });

  test("a worker killed mid-block does not spend the block's retries: with none, it is attempted again and completes", async () => {
    const { run } = await killedMidRun('restart_noretry');
    await worker.start();
    const d = await finished(run.id);
    assert.equal(d.run.status, 'completed', d.run.error ?? '');
    assert.deepEqual(d.attempts.filter((a) => a.block_uuid === 'sleepy').map((a) => [a.attempt, a.status]), [[1, 'failed'], [2, 'completed']]);
    assert.ok(d.events.some((e) => e.block_uuid === 'sleepy' && /not counted against retries \(loss 1 of 3 free\)/.test(e.message ?? '')), JSON.stringify(d.events.map((e) => e.message)));
  });

  test('a block that keeps taking its worker down is attempted again for free three times, then by its retry_config only', async () => {
    // Our worker is stopped for this: only the ghost claims.
    await worker.stop();
    const run = await store.runs.create({ project: 'orch', pipeline: 'restart_noretry', kind: 'manual', executionDate: new Date('2024-03-01T00:00:00Z') });
    assert.ok(run);
    // A worker that never registered and holds no lock: gone as soon as it is asked about.
    const ghost = `ghost-${run.id.slice(0, 8)}`;
    await store.blockRuns.ensure(run.id, ['sleepy', 'after']);
    const bases: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      assert.ok(await store.runs.claim(run.id, ghost, new Date()), `claim ${attempt}`);
      await store.blockRuns.startAttempt(run.id, 'sleepy', attempt, new Date());
      assert.equal(await store.workers.isGone(ghost), true);
      assert.equal(await store.runs.recoverOrphan(run.id, ghost, new Date()), true);
      const b = (await store.runs.detail(run.id))?.blocks.find((x) => x.block_uuid === 'sleepy');
      bases.push(b?.attempt_base ?? -1);
    }
    assert.deepEqual(bases, [1, 2, 3, 3]);
    worker = new Worker({ store, projectsDir: projects.root, concurrency: 2 });
    await worker.start();
    const d = await finished(run.id);
    // restart_noretry has no retries: the fourth loss was counted, so nothing is left.
    assert.equal(d.run.status, 'failed');
    assert.ok(d.events.some((e) => e.block_uuid === 'sleepy' && /lost 4 times/.test(e.message ?? '')));
  });
});
