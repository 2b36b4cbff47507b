/**
 * The run engine on its own, with a scripted kernel and a fake clock: the policy decisions every
 * host shares (retries and their waits, what a resumed run does, cancel, the cap, release), fast
 * and without DuckDB. The same behaviour through the real hosts: test/integration/engine-hosts.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../lib/clock';
import { RunLifecycleHooks } from '../../lib/engine/lifecycle-hooks';
import { type EngineKernel, runPipeline, type EngineRequest, type ResumedBlock } from '../../lib/engine/run-engine';
import { type ExecuteRequest } from '../../lib/kernel/host';
import { type BlockOutcome } from '../../lib/kernel/ipc';
import { type Block, type Pipeline } from '../../lib/pipeline/model';
import { type RunEvent } from '../../lib/protocol/run-events';
import { planRun } from '../../lib/run/plan';
import { DEFAULT_RETRY } from '../../lib/scheduler/retry';

const block = (uuid: string, ...upstream: string[]): Block => ({ uuid, name: uuid, type: upstream.length ? 'transformer' : 'data_loader', language: 'sql', upstream, configuration: {}, file: `x/${uuid}.sql` });
const pipelineOf = (...blocks: Block[]): Pipeline => ({ uuid: 'p', name: 'p', type: 'batch', blocks, variables: { g: 1 }, conditionals: [], callbacks: [] });

const done = (rowCount = 1): BlockOutcome => ({ status: 'completed', durationMs: 1, preview: { columns: [], rows: [], rowCount } });
const boom = (message = 'boom'): BlockOutcome => ({ status: 'failed', durationMs: 1, error: { kind: 'exception', message } });

/** A kernel whose blocks answer from a script: per block, the outcomes of its attempts in order. */
class ScriptedKernel implements EngineKernel {
  readonly started: string[] = [];
  /** Block-run names started (a dynamic child's `<uuid>:<key>`). */
  readonly names: string[] = [];
  readonly released: string[] = [];
  /** What each block run was given to read, by its name. */
  private readonly inputs = new Map<string, ExecuteRequest['inputs']>();
  running = 0;
  maxRunning = 0;
  interrupts = 0;
  private readonly waiting = new Set<(o: BlockOutcome) => void>();
  constructor(private readonly script: Record<string, (BlockOutcome | 'hang')[]>) {}
  async execute(req: ExecuteRequest): Promise<BlockOutcome> {
    this.started.push(req.block.uuid);
    this.names.push(req.name ?? req.block.uuid);
    this.inputs.set(req.name ?? req.block.uuid, req.inputs);
    const next = (req.name !== undefined ? this.script[req.name]?.shift() : undefined) ?? this.script[req.block.uuid]?.shift() ?? done();
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    // Let the engine start whatever else it may before this one ends.
    await new Promise((r) => setImmediate(r));
    const outcome =
      next === 'hang'
        ? await new Promise<BlockOutcome>((resolve) => {
            this.waiting.add(resolve);
          })
        : next;
    this.running -= 1;
    return outcome;
  }
  inputsOf(name: string): ExecuteRequest['inputs'] {
    return this.inputs.get(name);
  }
  async interrupt(): Promise<void> {
    this.interrupts += 1;
    for (const resolve of this.waiting) resolve({ status: 'failed', durationMs: 1, error: { kind: 'interrupted', message: 'interrupted' } });
    this.waiting.clear();
  }
  release(blocks: readonly string[]): void {
    this.released.push(...blocks);
  }
  onLog(): () => void {
    return () => undefined;
  }
  onProgress(): () => void {
    return () => undefined;
  }
}

function run(pipeline: Pipeline, kernel: EngineKernel, extra: Partial<EngineRequest> = {}) {
  const events: RunEvent[] = [];
  const hooks = new RunLifecycleHooks().onAny((e) => {
    events.push(e);
  });
  const outcome = runPipeline({ runId: 'r', kernel, pipeline, planned: planRun(pipeline.blocks, { kind: 'pipeline' }), hooks, ...extra });
  return { outcome, events };
}

const moves = (events: RunEvent[], uuid: string) => events.flatMap((e) => (e.type === 'block_status' && e.block === uuid ? [e.status] : []));

describe('the run engine', () => {
  test('a failed block is retried after its back-off wait, then its downstream runs', async () => {
    const clock = new FakeClock('2024-01-01T00:00:00Z');
    const kernel = new ScriptedKernel({ a: [boom(), done()] });
    const retry = { ...DEFAULT_RETRY, retries: 2, delay: 5, exponential_backoff: true };
    const { outcome, events } = run(pipelineOf(block('a'), block('b', 'a')), kernel, { clock, blockConfigs: new Map([['a', { retry, timeout: null }]]) });
    // The retry waits 5 s on the fake clock: nothing more starts until it moves.
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(kernel.started, ['a']);
    clock.advance(5000);
    const result = await outcome;
    assert.equal(result.status, 'completed');
    assert.deepEqual(kernel.started, ['a', 'a', 'b']);
    assert.deepEqual(moves(events, 'a'), ['queued', 'running', 'failed', 'queued', 'running', 'completed']);
    const wait = events.find((e) => e.type === 'block_status' && e.block === 'a' && e.status === 'queued' && e.message);
    assert.equal(wait?.type === 'block_status' ? wait.message : '', 'retry 1 of 2 in 5 s');
    const finished = events.filter((e) => e.type === 'attempt_finished');
    assert.deepEqual(finished.map((e) => (e.type === 'attempt_finished' ? [e.block, e.attempt, e.status, e.retryInMs ?? null] : [])), [['a', 1, 'failed', 5000], ['a', 2, 'completed', null], ['b', 1, 'completed', null]]);
  });

  test('with no retries left a failure fails the run and marks its downstream upstream_failed', async () => {
    const kernel = new ScriptedKernel({ a: [boom('bad data')] });
    const { outcome, events } = run(pipelineOf(block('a'), block('b', 'a'), block('c')), kernel);
    const result = await outcome;
    assert.equal(result.status, 'failed');
    assert.deepEqual(Object.fromEntries([...result.blocks].map(([u, b]) => [u, b.status])), { a: 'failed', b: 'upstream_failed', c: 'completed' });
    assert.equal(result.blocks.get('a')?.error?.message, 'bad data');
    assert.ok(!kernel.started.includes('b'));
    const last = events.at(-1);
    assert.deepEqual(last?.type === 'run_status' ? last.status : null, 'failed');
  });

  test('a resumed run skips completed blocks, fails one whose attempts are used up, and re-runs a completed upstream whose output is gone', async () => {
    const pipeline = pipelineOf(block('a'), block('b', 'a'), block('c'), block('d', 'c'));
    const kernel = new ScriptedKernel({});
    const resume = new Map([
      ['a', { status: 'completed' as const, attempts: 1, attemptBase: 0 }],
      // Its attempt was lost when its worker stopped (a lost attempt does not count: base 1).
      ['b', { status: 'running' as const, attempts: 1, attemptBase: 1 }],
      ['c', { status: 'completed' as const, attempts: 1, attemptBase: 0 }],
      ['d', { status: 'queued' as const, attempts: 2, attemptBase: 0 }],
    ]);
    const { outcome, events } = run(pipeline, kernel, { resume, missingOutputs: async (completed) => completed.filter((u) => u === 'a') });
    const result = await outcome;
    // d had 2 attempts with no retries allowed: it fails at once; a's output is gone, so a runs before b.
    assert.deepEqual(kernel.started, ['a', 'b']);
    assert.deepEqual(Object.fromEntries([...result.blocks].map(([u, b]) => [u, b.status])), { a: 'completed', b: 'completed', c: 'completed', d: 'failed' });
    assert.ok(events.some((e) => e.type === 'block_status' && e.block === 'd' && e.message === 'no retries left after 2 attempts'));
    assert.ok(events.some((e) => e.type === 'block_status' && e.block === 'a' && e.status === 'queued' && /output is missing/.test(e.message ?? '')));
  });

  test('cancel stops the running block and cancels what waits; no retry follows', async () => {
    const kernel = new ScriptedKernel({ a: ['hang'] });
    const controller = new AbortController();
    const retry = { ...DEFAULT_RETRY, retries: 3, delay: 0 };
    const { outcome } = run(pipelineOf(block('a'), block('b', 'a')), kernel, { signal: controller.signal, blockConfigs: new Map([['a', { retry, timeout: null }]]) });
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    const result = await outcome;
    assert.equal(result.status, 'cancelled');
    assert.equal(result.stoppedBy, 'cancel');
    assert.deepEqual(kernel.started, ['a']);
    assert.deepEqual(Object.fromEntries([...result.blocks].map(([u, b]) => [u, b.status])), { a: 'cancelled', b: 'cancelled' });
  });

  test("a host's shutdown loses the attempt without failing it, and tells no final status", async () => {
    const kernel = new ScriptedKernel({ a: ['hang'] });
    const controller = new AbortController();
    const { outcome, events } = run(pipelineOf(block('a')), kernel, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 10));
    controller.abort('shutdown');
    const result = await outcome;
    assert.equal(result.stoppedBy, 'shutdown');
    const lost = events.find((e) => e.type === 'attempt_finished');
    assert.equal(lost?.type === 'attempt_finished' ? lost.lost : false, true);
    assert.ok(!events.some((e) => e.type === 'run_status' && e.status !== 'running'));
    assert.ok(!events.some((e) => e.type === 'block_status' && e.status === 'failed'));
  });

  test('the concurrency cap bounds blocks at once; released outputs are those every reader finished with', async () => {
    const kernel = new ScriptedKernel({});
    const pipeline = pipelineOf(block('a'), block('b'), block('c'), block('d'), block('e', 'a'), block('f', 'e'));
    const { outcome } = run(pipeline, kernel, { concurrency: 2, releaseOutputs: true });
    const result = await outcome;
    assert.equal(result.status, 'completed');
    assert.equal(kernel.maxRunning, 2);
    // a is read by e only: released once e finished, while f still had to run. Outputs without
    // readers are never listed, and at the end nothing is (the kernel is about to go).
    assert.deepEqual(kernel.released, ['a']);
  });

  test("Mage's runtime variables reach every block: the pipeline's globals, the run's, execution_date, ds, hr, pipeline_run_id", async () => {
    const seen: Record<string, unknown>[] = [];
    const kernel = new ScriptedKernel({});
    const execute = kernel.execute.bind(kernel);
    kernel.execute = async (req) => {
      seen.push(req.variables);
      return execute(req);
    };
    const { outcome } = run(pipelineOf(block('a')), kernel, { variables: { who: 'me' }, executionDate: new Date('2024-03-10T05:00:00Z'), triggerName: 'daily' });
    await outcome;
    assert.deepEqual(seen[0], { g: 1, who: 'me', execution_date: '2024-03-10T05:00:00.000Z', ds: '2024-03-10', hr: '05', pipeline_run_id: 'r', trigger_name: 'daily' });
  });

  test('1,000 dynamic children run under the concurrency cap; a failed child retries alone', async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => String(i));
    const fanned: BlockOutcome = { status: 'completed', durationMs: 1, preview: { columns: [], rows: [], rowCount: 1000 }, items: keys };
    const kernel = new ScriptedKernel({ list: [fanned], 'child:7': [boom('flaky'), done()] });
    const list: Block = { ...block('list'), configuration: { dynamic: true } };
    const child: Block = { ...block('child', 'list'), configuration: { reduce_output: true } };
    const retry = { ...DEFAULT_RETRY, retries: 1, delay: 0 };
    const started = Date.now();
    const { outcome, events } = run(pipelineOf(list, child, block('total', 'child')), kernel, { blockConfigs: new Map([['child', { retry, timeout: null }]]) });
    const result = await outcome;
    assert.equal(result.status, 'completed');
    assert.equal(result.blocks.size, 1003);
    assert.equal(kernel.names.filter((n) => n === 'child:7').length, 2, 'the failed child ran again');
    assert.equal(kernel.names.filter((n) => n === 'child:8').length, 1, 'no other child did');
    assert.ok(kernel.maxRunning <= 4, `at most 4 at once, saw ${kernel.maxRunning}`);
    assert.equal(result.blocks.get('child')?.status, 'completed');
    assert.deepEqual(kernel.names.at(-1), 'total');
    assert.equal(events.filter((e) => e.type === 'block_runs_added').length, 1);
    // Not a speed goal (npm run bench has those): a guard against a scheduler that is quadratic per event.
    assert.ok(Date.now() - started < 20_000, `1,000 children took ${Date.now() - started} ms`);
  });

  test('a resumed fan-out takes its children back from the store and runs only the ones that had not completed', async () => {
    const kernel = new ScriptedKernel({});
    const list: Block = { ...block('list'), configuration: { dynamic: true } };
    const resume = new Map([
      ['list', { status: 'completed' as const, attempts: 1, attemptBase: 0 }],
      ['child', { status: 'running' as const, attempts: 0, attemptBase: 0 }],
      ['child:a', { status: 'completed' as const, attempts: 1, attemptBase: 0 }],
      ['child:b', { status: 'running' as const, attempts: 1, attemptBase: 1 }],
      ['child:c', { status: 'queued' as const, attempts: 0, attemptBase: 0 }],
    ]);
    const { outcome, events } = run(pipelineOf(list, block('child', 'list')), kernel, { resume });
    const result = await outcome;
    assert.equal(result.status, 'completed');
    assert.deepEqual(kernel.names, ['child:b', 'child:c'], 'the dynamic block did not run again');
    // Each child reads its own row of the output: the rows follow the order the children were made.
    assert.deepEqual(kernel.inputsOf('child:c'), [{ kind: 'item', name: 'list', row: 2 }]);
    assert.deepEqual(events.filter((e) => e.type === 'block_runs_added').map((e) => e.type === 'block_runs_added' && e.blocks.map((b) => b.name)), [['child:a', 'child:b', 'child:c']]);
  });

  test('a resumed run whose fan-out had ended gives the reduced output of every child to the block still to run', async () => {
    const kernel = new ScriptedKernel({});
    const list: Block = { ...block('list'), configuration: { dynamic: true } };
    const each: Block = { ...block('each', 'list'), configuration: { reduce_output: true } };
    const completed: ResumedBlock = { status: 'completed', attempts: 1, attemptBase: 0 };
    const resume = new Map<string, ResumedBlock>([
      ['list', completed],
      ['each', completed],
      ['total', { status: 'queued' as const, attempts: 0, attemptBase: 0 }],
      ['each:0', completed],
      ['each:1', completed],
    ]);
    const { outcome } = run(pipelineOf(list, each, block('total', 'each')), kernel, { resume });
    assert.equal((await outcome).status, 'completed');
    assert.deepEqual(kernel.names, ['total']);
    // Before children were taken back from the store, this list was empty: the total of nothing.
    assert.deepEqual(kernel.inputsOf('total'), [{ kind: 'combined', names: ['each:0', 'each:1'] }]);
  });

  test('a resumed fan-out none of whose children was recorded lists its items again', async () => {
    const items: BlockOutcome = { status: 'completed', durationMs: 1, preview: { columns: [], rows: [], rowCount: 3 }, items: ['a', 'b', 'c'] };
    const kernel = new ScriptedKernel({ list: [items] });
    const list: Block = { ...block('list'), configuration: { dynamic: true } };
    const resume = new Map([
      ['list', { status: 'completed' as const, attempts: 1, attemptBase: 0 }],
      ['child', { status: 'running' as const, attempts: 0, attemptBase: 0 }],
    ]);
    const { outcome } = run(pipelineOf(list, block('child', 'list')), kernel, { resume });
    const result = await outcome;
    assert.equal(result.status, 'completed');
    assert.deepEqual(kernel.names, ['list', 'child:a', 'child:b', 'child:c']);
  });

  test('a resumed nested fan-out takes back the children of every level the store has, and lists again only where it has none', async () => {
    const items = (...keys: string[]): BlockOutcome => ({ status: 'completed', durationMs: 1, preview: { columns: [], rows: [], rowCount: keys.length }, items: keys });
    const kernel = new ScriptedKernel({ years: [items('y1', 'y2')], 'months:y1': [items('m1', 'm2')], 'months:y2': [items('m1')] });
    const years: Block = { ...block('years'), configuration: { dynamic: true } };
    const months: Block = { ...block('months', 'years'), configuration: { dynamic: true } };
    const completed: ResumedBlock = { status: 'completed', attempts: 1, attemptBase: 0 };
    const resume = new Map<string, ResumedBlock>([
      ['years', completed],
      ['months', { status: 'running' as const, attempts: 0, attemptBase: 0 }],
      ['load', { status: 'running' as const, attempts: 0, attemptBase: 0 }],
      ['months:y1', completed],
      ['months:y2', completed],
      ['load:y1:m1', completed],
      ['load:y1:m2', { status: 'running' as const, attempts: 1, attemptBase: 1 }],
    ]);
    const { outcome } = run(pipelineOf(years, months, block('load', 'months')), kernel, { resume });
    const result = await outcome;
    assert.equal(result.status, 'completed');
    // years and months:y1 have their children in the store; months:y2 has none, and lists again.
    assert.deepEqual([...kernel.names].sort(), ['load:y1:m2', 'load:y2:m1', 'months:y2']);
    assert.equal(result.blocks.get('load:y2:m1')?.status, 'completed');
  });
});
