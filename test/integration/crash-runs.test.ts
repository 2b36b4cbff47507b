/**
 * Crash consistency: the process running runs (a worker, or the server's run side) is killed with
 * SIGKILL at random points, 30 times each, while runs with retries go on; the next process takes
 * them over. Afterwards no run is stuck, lost, doubled (a block completed twice, or two attempts
 * of one block at once), or failed while retries remained; no attempt failed for an output a
 * crash lost ("has no output yet"); and every run's data is whole.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AttemptRow, type RunRow } from '../../lib/store/types';
import { tempProjects } from '../support/projects';
import { testStore } from '../support/store';

type Env = Awaited<ReturnType<typeof testStore>>;
let env: Env;
let projects: Awaited<ReturnType<typeof tempProjects>>;
const children = new Set<ChildProcess>();

before(async () => {
  env = await testStore();
  projects = await tempProjects({ crash: 'test/fixtures/projects/crash_runs' });
});

after(async () => {
  for (const child of children) killGroup(child);
  await env?.close();
  await projects?.cleanup();
});

function killGroup(child: ChildProcess): void {
  try {
    // The whole group: the process and its kernels, as a crash or `kill -9` of the group would.
    process.kill(-(child.pid ?? 0), 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Starts a process that runs runs (`worker-process.ts` or `orchestration-process.ts`); resolves once it is ready. */
async function startRunner(script: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'support', script), env.url, env.pg.schema, projects.root], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
    // A killed runner is found lost once its lock is free and it has been silent this long: short
    // here, so 30 kills do not each wait out the 10 s default.
    env: { ...process.env, GRIMOIRE_HEARTBEAT_MS: '250', GRIMOIRE_LOST_AFTER_SECONDS: '1' },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
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

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  killGroup(child);
  await exited;
}

async function settled(ids: readonly string[], timeoutMs: number): Promise<RunRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await Promise.all(ids.map((id) => env.store.runs.get(id)));
    const done = runs.filter((r): r is RunRow => r !== null && ['completed', 'failed', 'cancelled'].includes(r.status));
    if (done.length === ids.length) return done;
    if (Date.now() > deadline) throw new Error(`runs not finished: ${runs.filter((r) => !done.includes(r as RunRow)).map((r) => `${r?.id} ${r?.status}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function checkRuns(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const d = await env.store.runs.detail(id);
    assert.ok(d, `run ${id} is lost`);
    assert.equal(d.run.status, 'completed', `run ${id} ended ${d.run.status}: ${d.run.error ?? ''}`);
    for (const block of ['load', 'clean', 'total']) {
      const attempts: AttemptRow[] = d.attempts.filter((a) => a.block_uuid === block);
      const history = (): string => JSON.stringify(d.events.filter((e) => e.block_uuid === block || e.block_uuid === null).map((e) => [e.block_uuid, e.status, e.attempt, e.message]));
      assert.equal(attempts.filter((a) => a.status === 'completed').length, 1, `run ${id}: ${block} completed ${attempts.filter((a) => a.status === 'completed').length} times: ${history()}`);
      // Two attempts of one block at once would mean two processes ran the run.
      const spans = attempts.map((a) => [a.started_at.getTime(), (a.finished_at ?? new Date()).getTime()] as const).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < spans.length; i++) assert.ok((spans[i]?.[0] ?? 0) >= (spans[i - 1]?.[1] ?? 0), `run ${id}: attempts of ${block} overlap`);
      for (const a of attempts) assert.doesNotMatch(JSON.stringify(a.error ?? {}), /has no output yet/, `run ${id}: ${block} lost its upstream's output`);
    }
    const rowsOf = Object.fromEntries(d.blocks.map((b) => [b.block_uuid, b.row_count]));
    assert.deepEqual(rowsOf, { load: 5000, clean: 4792, total: 1 }, `run ${id}: row counts`);
  }
}

for (const [what, script] of [
  ['a worker', 'worker-process.ts'],
  ['the server', 'orchestration-process.ts'],
] as const) {
  describe(`SIGKILL of ${what} at random points of runs with retries`, { timeout: 600_000 }, () => {
    test('30 kills: every run completes exactly once, with its data whole', async () => {
      const ids: string[] = [];
      let runner = await startRunner(script);
      for (let kill_ = 0; kill_ < 30; kill_++) {
        const run = await env.store.runs.create({ project: 'crash', pipeline: 'chain', kind: 'api', executionDate: new Date() });
        assert.ok(run);
        ids.push(run.id);
        // Anywhere from before the kernel is up to the last block of this or an earlier run.
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 1800));
        await kill(runner);
        runner = await startRunner(script);
      }
      await settled(ids, 240_000);
      await kill(runner);
      await checkRuns(ids);
      const running = await env.store.runs.list({ status: 'running' });
      assert.deepEqual(running.map((r) => r.id), [], 'runs left running');
    });
  });
}
