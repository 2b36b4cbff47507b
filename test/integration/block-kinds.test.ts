/**
 * The block kinds beyond loaders, transformers and exporters, through the one run engine with a
 * real kernel (test/fixtures/projects/block_kinds): dynamic fan-out with metadata names, nested
 * fan-out, reduce, a failing child retried alone; conditionals false and true; callbacks on
 * success, failure and cancel; sensors satisfied after a file appears, in SQL, and one that times
 * out; markdown and scratchpad blocks skipped by pipeline runs. The same fixture through
 * `grimoire run` and a worker: block-kinds-hosts.test.ts.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RunLifecycleHooks } from '../../lib/engine/lifecycle-hooks';
import { runPipeline, type RunOutcome } from '../../lib/engine/run-engine';
import { loadRunSettings } from '../../lib/engine/run-settings';
import { KernelHost } from '../../lib/kernel/host';
import { dataDirOf } from '../../lib/project/paths';
import { type OutputPreview, type RunEvent } from '../../lib/protocol/run-events';
import { planRun, type RunScope } from '../../lib/run/plan';
import { tempProjects } from '../support/projects';

let projects: Awaited<ReturnType<typeof tempProjects>>;
let projectDir: string;
const kernels: KernelHost[] = [];

before(async () => {
  projects = await tempProjects({ kinds: 'test/fixtures/projects/block_kinds' });
  projectDir = path.join(projects.root, 'kinds');
});

after(async () => {
  for (const k of kernels) await k.close();
  await projects?.cleanup();
});

interface Ran {
  outcome: RunOutcome;
  events: RunEvent[];
  previews: Map<string, OutputPreview>;
  logs: string;
  status: (block: string) => string | undefined;
}

async function run(pipeline: string, options: { variables?: Record<string, string | boolean>; signal?: AbortSignal; scope?: RunScope; onEvent?: (e: RunEvent) => void; useCache?: boolean } = {}): Promise<Ran> {
  const settings = await loadRunSettings(projectDir, pipeline);
  const kernel = new KernelHost({ projectDir, dataDir: dataDirOf(projectDir), pipelineUuid: pipeline, interruptGraceMs: 300 });
  kernels.push(kernel);
  const events: RunEvent[] = [];
  const previews = new Map<string, OutputPreview>();
  let logs = '';
  const hooks = new RunLifecycleHooks().onAny((e) => {
    events.push(e);
    options.onEvent?.(e);
    if (e.type === 'output') previews.set(e.block, e.preview);
    if (e.type === 'log') logs += `[${e.block}] ${e.text}`;
  });
  const outcome = await runPipeline({
    runId: `r-${pipeline}-${Date.now()}`,
    kernel,
    pipeline: settings.pipeline,
    planned: planRun(settings.pipeline.blocks, options.scope ?? { kind: 'pipeline' }),
    blockConfigs: settings.blockConfigs,
    hooks,
    variables: options.variables ?? {},
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.useCache === undefined ? {} : { useCache: options.useCache }),
  });
  return { outcome, events, previews, logs, status: (b) => outcome.blocks.get(b)?.status };
}

describe('dynamic blocks', () => {
  test('three items fan out under their metadata names; a failing child retries alone; reduce merges them', async () => {
    const ran = await run('fan_out');
    assert.equal(ran.outcome.status, 'completed', ran.logs);
    const names = [...ran.outcome.blocks.keys()];
    // Markdown and scratchpad blocks are not part of a pipeline run.
    assert.ok(!names.includes('notes') && !names.includes('try_things'));
    for (const month of ['jan', 'feb', 'mar']) {
      assert.equal(ran.status(`load_month:${month}`), 'completed');
      assert.equal(ran.status(`clean_month:${month}`), 'completed');
    }
    assert.equal(ran.outcome.blocks.get('clean_month:feb')?.attempts, 2, 'feb failed once and was retried');
    assert.equal(ran.outcome.blocks.get('clean_month:jan')?.attempts, 1, 'jan was not run again');
    assert.equal(ran.outcome.blocks.get('load_month:feb')?.attempts, 1, 'the retry ran the failed child only');
    assert.equal(ran.status('load_month'), 'completed');
    assert.equal(ran.status('clean_month'), 'completed');
    const added = ran.events.filter((e) => e.type === 'block_runs_added');
    assert.deepEqual(
      added.flatMap((e) => (e.type === 'block_runs_added' ? e.blocks.map((b) => b.name) : [])),
      ['load_month:jan', 'clean_month:jan', 'load_month:feb', 'clean_month:feb', 'load_month:mar', 'clean_month:mar'],
    );
    assert.deepEqual(ran.previews.get('summary')?.rows, [{ months: 3, trips: 60, children: 'clean_month:jan,clean_month:feb,clean_month:mar' }]);
    assert.deepEqual(ran.previews.get('load_month:feb')?.rows, [{ month: '2024-02', trips: 20 }]);
  });

  test('a dynamic child fans out again; reduce_output merges the inner level per outer item', async () => {
    const ran = await run('nested');
    assert.equal(ran.outcome.status, 'completed', ran.logs);
    for (const name of ['months:0', 'months:1', 'load:0:0', 'load:0:1', 'load:1:0', 'load:1:1', 'year_total:0', 'year_total:1']) assert.equal(ran.status(name), 'completed', name);
    assert.deepEqual(ran.previews.get('year_total:0')?.rows, [{ year: 2023, months: 2, ym_sum: 202301 + 202302 }]);
    assert.deepEqual(ran.previews.get('year_total:1')?.rows, [{ year: 2024, months: 2, ym_sum: 202401 + 202402 }]);
  });
});

describe('conditionals', () => {
  test('false skips the block and its downstream (condition_failed); true runs it; the run completes', async () => {
    const ran = await run('conditions');
    assert.equal(ran.outcome.status, 'completed', ran.logs);
    assert.equal(ran.status('start'), 'completed');
    assert.equal(ran.status('skipped'), 'condition_failed');
    assert.equal(ran.status('after_skipped'), 'condition_failed');
    assert.equal(ran.status('gated'), 'completed');
    assert.deepEqual(ran.previews.get('gated')?.rows, [{ total: 3 }]);
    const skip = ran.events.find((e) => e.type === 'block_status' && e.block === 'skipped' && e.status === 'condition_failed');
    assert.match(skip?.type === 'block_status' ? (skip.message ?? '') : '', /conditional never returned false/);
  });

  test('a conditional reads the variables: flag=off skips the gated block', async () => {
    const ran = await run('conditions', { variables: { flag: 'off' } });
    assert.equal(ran.status('gated'), 'condition_failed');
    assert.equal(ran.outcome.status, 'completed');
  });
});

describe('callbacks', () => {
  const recorded = async (name: string) => JSON.parse(await fs.readFile(path.join(dataDirOf(projectDir), `callback-${name}.json`), 'utf8')) as Record<string, unknown>;

  test('onSuccess and onFailure get the block run, its error and the variables; a throwing callback changes nothing', async () => {
    const ran = await run('callbacks', { variables: { fast: true, flag: 'x' } });
    assert.equal(ran.status('good'), 'completed');
    assert.equal(ran.status('bad'), 'failed');
    assert.equal(ran.status('slow'), 'completed');
    assert.deepEqual(await recorded('good'), { hook: 'onSuccess', status: 'completed', error: null, run: ran.outcome.runId, pipeline: 'callbacks', flag: 'x' });
    const bad = await recorded('bad');
    assert.equal(bad.hook, 'onFailure');
    assert.match(String(bad.error), /bad on purpose/);
    const broken = ran.events.find((e) => e.type === 'callback' && e.callback === 'broken');
    assert.ok(broken?.type === 'callback' && broken.block === 'good' && /the webhook is down/.test(broken.error?.message ?? ''), 'the throwing callback is told');
  });

  test('onCancelled runs when the run is cancelled', async () => {
    await fs.rm(path.join(dataDirOf(projectDir), 'callback-slow.json'), { force: true });
    await fs.rm(path.join(dataDirOf(projectDir), 'callback-after_slow.json'), { force: true });
    const abort = new AbortController();
    // slow and what it feeds only: with `bad` in the run too, whether the run ends cancelled or
    // failed would depend on whether `bad` failed before the cancel (a failure decides the status).
    const ran = await run('callbacks', {
      scope: { kind: 'downstream', block: 'slow' },
      signal: abort.signal,
      onEvent: (e) => {
        if (e.type === 'block_status' && e.block === 'slow' && e.status === 'running') setTimeout(() => abort.abort(), 300);
      },
    });
    assert.equal(ran.outcome.status, 'cancelled');
    assert.equal(ran.status('slow'), 'cancelled');
    assert.equal((await recorded('slow')).hook, 'onCancelled');
    // A block still waiting when the run was cancelled gets its onCancelled too (after the interrupt).
    assert.equal(ran.status('after_slow'), 'cancelled');
    assert.equal((await recorded('after_slow')).hook, 'onCancelled');
  });
});

describe('callbacks that never return', () => {
  test('are bounded by the block timeout and never hold up the downstream blocks', async () => {
    const started = Date.now();
    let downstreamDone = 0;
    const ran = await run('callback_hang', {
      onEvent: (e) => {
        if (e.type === 'block_status' && e.block === 'after_quick' && e.status === 'completed') downstreamDone = Date.now() - started;
      },
    });
    assert.equal(ran.outcome.status, 'completed');
    assert.ok(downstreamDone > 0 && downstreamDone < 1800, `the downstream block finished ${downstreamDone} ms in, before the callback's 2 s ran out`);
    const told = ran.events.find((e) => e.type === 'callback');
    assert.ok(told?.type === 'callback' && /timed out after 2 s/.test(told.error?.message ?? ''), 'the callback is told as timed out');
    assert.ok(Date.now() - started < 15_000);
  });
});

describe('sensors', () => {
  test('poked until the file appears, logging each poke; the kernel stays free; the downstream block gets no sensor data', async () => {
    const flag = path.join(dataDirOf(projectDir), 'ready.flag');
    await fs.rm(flag, { force: true });
    const waits: string[] = [];
    const kernelStates: string[] = [];
    let otherBranchDone = false;
    const started = Date.now();
    const ran = await run('sensors', {
      onEvent: (e) => {
        if (e.type === 'block_status' && e.block === 'rows_exist' && e.status === 'completed') otherBranchDone = true;
        if (e.type === 'block_progress' && e.progress.phase === 'sensor_wait') {
          waits.push(`${e.block}#${e.progress.poke}`);
          // Between pokes nothing runs in the kernel: the sensor only waits in the engine.
          kernelStates.push(`${kernels.at(-1)?.state}`);
          if (e.progress.poke === 2) {
            assert.ok(otherBranchDone, 'the other branch ran while the sensor waited');
            void fs.writeFile(flag, 'ok');
          }
        }
      },
    });
    assert.equal(ran.outcome.status, 'completed', ran.logs);
    assert.equal(ran.status('rows_exist'), 'completed');
    assert.deepEqual(waits, ['wait_for_file#1', 'wait_for_file#2']);
    assert.equal(kernelStates[1], 'idle');
    assert.match(ran.logs, /\[wait_for_file\] poke 1: not yet; next in 1 s/);
    assert.match(ran.logs, /\[wait_for_file\] poke 3: satisfied/);
    assert.ok(Date.now() - started >= 2000, 'two waits of a second each');
    assert.deepEqual(ran.previews.get('after_sensors')?.rows, [{ ran: 'after_sensors' }]);
  });

  test('a sensor that is never satisfied fails at its timeout; its downstream is upstream_failed', async () => {
    const ran = await run('sensor_timeout');
    assert.equal(ran.outcome.status, 'failed');
    assert.equal(ran.status('never_true'), 'failed');
    assert.equal(ran.status('never_runs'), 'upstream_failed');
    assert.match(ran.outcome.blocks.get('never_true')?.error?.message ?? '', /the sensor timed out after 2 s \(3 pokes, timeout 2 s\)/);
  });
});

describe('editor-only blocks', () => {
  test('a scratchpad runs on its own (the editor); a markdown block never runs', async () => {
    const ran = await run('fan_out', { scope: { kind: 'block', block: 'try_things' } });
    assert.equal(ran.status('try_things'), 'completed');
    assert.deepEqual(ran.previews.get('try_things')?.rows, [{ answer: 42 }]);
    await assert.rejects(() => run('fan_out', { scope: { kind: 'block', block: 'notes' } }), /markdown block: it is shown, never run/);
  });
});

describe('cached outputs', () => {
  const runs = async () => (await fs.readFile(path.join(dataDirOf(projectDir), 'expensive-runs.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  test('a hit reuses the output and marks the block run cached; code, variables, --no-cache and expiry miss', async () => {
    await fs.rm(path.join(dataDirOf(projectDir), 'expensive-runs.log'), { force: true });
    const first = await run('cached');
    assert.equal(first.outcome.status, 'completed', first.logs);
    assert.equal(await runs(), 1);
    assert.equal(first.outcome.blocks.get('expensive')?.cached, undefined);

    const hit = await run('cached');
    assert.equal(await runs(), 1, 'the cached block did not run');
    assert.equal(hit.outcome.blocks.get('expensive')?.cached, true);
    assert.deepEqual(hit.previews.get('expensive')?.rows, first.previews.get('expensive')?.rows);
    const said = hit.events.find((e) => e.type === 'block_status' && e.block === 'expensive' && e.status === 'completed');
    assert.ok(said?.type === 'block_status' && said.cached === true && /cached: reused the output saved at/.test(said.message ?? ''));

    await run('cached', { variables: { label: 'second' } });
    assert.equal(await runs(), 2, 'other variables: a miss');

    const file = path.join(projectDir, 'transformers', 'expensive.ts');
    await fs.appendFile(file, '// a change of code\n');
    await run('cached', { variables: { label: 'second' } });
    assert.equal(await runs(), 3, 'changed code: a miss');

    await run('cached', { variables: { label: 'second' }, useCache: false });
    assert.equal(await runs(), 4, 'ignoring the cache runs the block');
    await run('cached', { variables: { label: 'second' } });
    assert.equal(await runs(), 4, 'and saves its output for the next run');

    await new Promise((r) => setTimeout(r, 3200));
    const expired = await run('cached', { variables: { label: 'second' } });
    assert.equal(await runs(), 5, 'an expired output is not reused');
    assert.equal(expired.outcome.blocks.get('expensive')?.cached, undefined);
  });
});
