/**
 * Crash consistency of the kernel: a block is completed only once its output file is durable; the
 * processes a block starts die with the kernel on interrupt, restart, close and the death of its
 * owner; process.exit from a block's timer fails the block with the same short message as a
 * direct call.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { type BlockOutcome, type BlockSpec } from '../../lib/kernel/ipc';
import { durableOutputs, outputFile } from '../../lib/kernel/output-files';
import { type JsonValue } from '../../lib/pipeline/model';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
let workspace = '';
let projectDir = '';
const kernels: KernelHost[] = [];

before(async () => {
  workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'grimoire-it-crash-'));
  projectDir = path.join(workspace, 'crash');
  await fs.cp(path.join(REPO_ROOT, 'test', 'fixtures', 'projects', 'crash'), projectDir, { recursive: true });
});

after(async () => {
  for (const k of kernels) await k.close();
  await fs.rm(workspace, { recursive: true, force: true });
});

function kernel(cacheDir?: string | null): KernelHost {
  const k = new KernelHost({ projectDir, dataDir: path.join(projectDir, '.grimoire'), pipelineUuid: 'crash', cacheDir, interruptGraceMs: 300 });
  kernels.push(k);
  return k;
}

function loader(uuid: string): BlockSpec {
  return { uuid, type: 'data_loader', language: 'typescript', file: `data_loaders/${uuid}.ts`, upstream: [], configuration: {} };
}

function execute(k: KernelHost, block: string, variables: Record<string, JsonValue> = {}): Promise<BlockOutcome> {
  return k.execute({ runId: `run-${block}-${Date.now()}`, block: loader(block), variables, executionDate: new Date().toISOString() });
}

/** Alive and not a zombie (a killed child may wait for a reaper that never comes in a container). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name: "pid (comm) S ...".
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pids: readonly number[], withinMs = 3000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  let left = pids.filter(running);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(running);
  }
  return left;
}

/** The pids the spawner block logs, once it has logged them. */
function sleepPids(k: KernelHost): Promise<number[]> {
  return new Promise((resolve) => {
    const stop = k.onLog((e) => {
      const m = /sleep pids: (\[[\d,]+\])/.exec(e.text);
      if (!m?.[1]) return;
      stop();
      resolve(pidsOf(m[1]));
    });
  });
}

function pidsOf(json: string): number[] {
  const parsed: unknown = JSON.parse(json);
  assert.ok(Array.isArray(parsed) && parsed.every((p) => typeof p === 'number'), `not a list of pids: ${json}`);
  return parsed.filter((p): p is number => typeof p === 'number');
}

describe('a completed block has a durable output', { timeout: 120_000 }, () => {
  test('its Parquet file is whole and in place when "completed" arrives, even if the kernel is killed right then', async () => {
    const cacheDir = path.join(workspace, 'cache-durable');
    const k = kernel(cacheDir);
    const outcome = await execute(k, 'quick');
    const pid = k.pid;
    assert.ok(pid !== undefined);
    process.kill(-pid, 'SIGKILL');
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    assert.deepEqual(await durableOutputs(cacheDir, ['quick', 'spawner', '../quick']), new Set(['quick']));
    assert.deepEqual((await fs.readdir(cacheDir)).filter((f) => f.endsWith('.tmp')), [], 'no draft is left behind');
  });

  test('durableOutputs counts no cut-short file, no missing folder and no name outside the folder', async () => {
    const cacheDir = path.join(workspace, 'cache-partial');
    await fs.mkdir(cacheDir, { recursive: true });
    await fs.writeFile(outputFile(cacheDir, 'cut'), 'PAR1 and then the crash');
    await fs.writeFile(outputFile(cacheDir, 'empty'), '');
    assert.deepEqual(await durableOutputs(cacheDir, ['cut', 'empty', 'absent']), new Set());
    assert.deepEqual(await durableOutputs(path.join(workspace, 'no-such-folder'), ['quick']), new Set());
  });

  test('a block whose output cannot be saved fails saying so, and is not completed', async () => {
    // A file where the cache folder should be: the copy cannot be written.
    const cacheDir = path.join(workspace, 'cache-blocked');
    await fs.writeFile(cacheDir, 'not a folder');
    const outcome = await execute(kernel(cacheDir), 'quick');
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.status === 'failed' && outcome.error.kind, 'exception');
    assert.match(outcome.status === 'failed' ? outcome.error.message : '', /^could not save the output of quick as Parquet: /);
  });

  test('without a cache folder (one-shot runs) nothing is written or waited for', async () => {
    const outcome = await execute(kernel(null), 'quick');
    assert.equal(outcome.status, 'completed');
  });
});

describe("a block's child processes die with it", { timeout: 120_000 }, () => {
  test('on interrupt', async () => {
    const k = kernel();
    const pids = sleepPids(k);
    const outcome = execute(k, 'spawner', { wait: true });
    const started = await pids;
    assert.equal(started.length, 10);
    assert.equal(started.filter(running).length, 10);
    await k.interrupt();
    const result = await outcome;
    assert.equal(result.status === 'failed' && result.error.kind, 'interrupted');
    assert.deepEqual(await gone(started), [], 'sleep processes survived the interrupt');
  });

  test('on restart', async () => {
    const k = kernel();
    const pids = sleepPids(k);
    void execute(k, 'spawner', { wait: true });
    const started = await pids;
    await k.restart();
    assert.deepEqual(await gone(started), [], 'sleep processes survived the restart');
  });

  test('when the kernel is closed after the block completed', async () => {
    const k = kernel();
    const pids = sleepPids(k);
    const outcome = await execute(k, 'spawner');
    assert.equal(outcome.status, 'completed');
    const started = await pids;
    assert.equal(started.filter(running).length, 10, 'the block left its processes running');
    await k.close();
    assert.deepEqual(await gone(started), [], 'sleep processes outlived the kernel');
  });

  /** Starts a kernel in another process running `block`, SIGKILLs that process, and returns what must then go. */
  async function killOwner(block: string, settleMs = 0): Promise<number[]> {
    const owner = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test', 'support', 'kernel-owner.ts'), projectDir, 'crash', block, 'wait'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const seen = new Promise<number[]>((resolve, reject) => {
      owner.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        const k = /kernel (\d+)/.exec(out);
        const s = /sleep pids: (\[[\d,]+\])/.exec(out);
        if (k?.[1] && s?.[1]) resolve([Number(k[1]), ...pidsOf(s[1])]);
      });
      owner.once('exit', (code) => reject(new Error(`the owner exited (${code}) early: ${out}`)));
    });
    const pids = await seen;
    await new Promise((r) => setTimeout(r, settleMs));
    owner.kill('SIGKILL');
    return pids;
  }

  test('when the process that owns the kernel is killed, the kernel exits and takes them along', async () => {
    assert.deepEqual(await gone(await killOwner('spawner'), 10_000), [], 'the kernel or its processes outlived their owner');
  });

  test('also when a block keeps the kernel busy in an endless loop then', async () => {
    // A second in, the block spins and the kernel's thread never sees its IPC channel close.
    assert.deepEqual(await gone(await killOwner('spinner', 1000), 15_000), [], 'the kernel or its processes outlived their owner');
  });
});

describe('process.exit in a block', { timeout: 120_000 }, () => {
  const expected = (code: number, block: string) => `process.exit(${code}) was called by block ${block}; blocks must return or throw instead`;

  test('called directly: the block fails with the short message and the kernel lives on', async () => {
    const k = kernel();
    const outcome = await execute(k, 'direct_exit');
    assert.equal(outcome.status, 'failed');
    if (outcome.status !== 'failed') return;
    assert.equal(outcome.error.kind, 'exception');
    assert.equal(outcome.error.message, expected(1, 'direct_exit'));
    assert.equal(outcome.error.line, 2);
    const pid = k.pid;
    assert.equal((await execute(k, 'quick')).status, 'completed');
    assert.equal(k.pid, pid);
  });

  test('called from a timer: the same message (not the kernel source); the kernel lives on and drops what the block returns later', async () => {
    const cacheDir = path.join(workspace, 'cache-exit');
    const k = kernel(cacheDir);
    assert.equal((await execute(k, 'quick')).status, 'completed');
    const pid = k.pid;
    const outcome = await execute(k, 'timer_exit');
    assert.equal(outcome.status, 'failed');
    if (outcome.status !== 'failed') return;
    assert.equal(outcome.error.kind, 'exception');
    assert.equal(outcome.error.message, expected(1, 'timer_exit'));
    assert.ok(outcome.error.message.length < 120, `${outcome.error.message.length} characters`);
    assert.equal(outcome.error.file, 'data_loaders/timer_exit.ts');
    assert.equal(outcome.error.line, 3);
    assert.equal((await execute(k, 'quick')).status, 'completed');
    assert.equal(k.pid, pid);
    // The block's own code still returns after 1.5 s: its rows must not become an output.
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await durableOutputs(cacheDir, ['quick', 'timer_exit']), new Set(['quick']));
    assert.equal(k.pid, pid);
  });
});
