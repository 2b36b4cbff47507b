import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RunLifecycleHooks } from '../engine/lifecycle-hooks';
import { loadRunSettings, type RunSettings } from '../engine/run-settings';
import { runPipeline, type ResumedBlock } from '../engine/run-engine';
import { errorMessage } from '../errors';
import { queuedRuns } from '../runs/pipeline-runs';
import { KernelHost } from '../kernel/host';
import { type KernelStandby } from '../kernel/standby';
import { durableOutputs } from '../kernel/output-files';
import { projectDir } from '../project/load';
import { dataDirOf } from '../project/paths';
import { queueOfBlock } from '../pipeline/executor-config';
import { outputName } from '../run/fan-out';
import { planRun } from '../run/plan';
import { type PipelineRunStatus } from '../run/states';
import { type Clock, systemClock } from '../clock';
import { runCodeFiles } from '../store/live-run';
import { recordRunInStore } from '../store/record-run';
import { type Store } from '../store/store';
import { type RunRow } from '../store/types';

export interface ExecuteRunOptions {
  store: Store;
  run: RunRow;
  projectsDir: string;
  kernelEnv?: Record<string, string>;
  /** Where the run's kernel may come from, started ahead (the worker's); else it starts afresh. */
  standby?: KernelStandby;
  /** The workspace's secrets, read at the run's first block (KernelOptions.secrets); none when absent. */
  secrets?: () => Promise<Record<string, string>>;
  /** Aborted when the run is cancelled or the worker shuts down (see `reason`). */
  signal: AbortSignal;
  /** Aborted when the worker drains (SIGTERM): running blocks finish, the rest is handed back (RunRequest.drain). */
  drain?: AbortSignal;
  /**
   * True once this worker was found lost and the run given to another: from then on nothing about
   * the run is written (it belongs to its new worker), and it is neither requeued nor ended here.
   */
  fenced?: () => boolean;
  /** The queues this worker serves; blocks of other queues are handed to their workers. Default: every block runs here. */
  queues?: readonly string[];
  /** This worker's id, for the hand-off's guard. */
  workerId?: string;
  clock?: Clock;
}

/**
 * The worker's host of the run engine (lib/engine/run-engine.ts) for one claimed run: a kernel of
 * the run's own, the run's settings and where a resumed run left off from the store, hooks that
 * record every move in the store, and the run row's final status. Blocks already completed (a
 * resumed or retried run) are skipped; their outputs come from the run's Parquet cache, and any
 * output a crash lost is made again. Returns the run's final status (`initial`: handed back to
 * the queue because the worker is stopping).
 */
export async function executeRun(options: ExecuteRunOptions): Promise<PipelineRunStatus> {
  const { store, run, signal } = options;
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  // The trigger's name (ctx.trigger_name) is read while the pipeline loads.
  const triggerName = run.trigger_id ? store.triggers.getById(run.trigger_id).then((t) => t?.name ?? null) : Promise.resolve(null);
  triggerName.catch(() => undefined);
  let settings: RunSettings;
  let dir: string;
  try {
    dir = await projectDir(options.projectsDir, run.project);
    settings = await loadRunSettings(dir, run.pipeline);
  } catch (e) {
    await store.runs.setStatus(run.id, 'failed', now(), `the pipeline could not be loaded: ${errorMessage(e)}`);
    return 'failed';
  }
  const planned = planRun(settings.pipeline.blocks, { kind: 'pipeline' });
  // The run's block runs, and its code pinned once (a resumed run keeps the code it started with:
  // code-repository.ts). Both are idempotent: a resumed run writes them again and keeps what is there.
  const prepared = Promise.all([store.blockRuns.ensure(run.id, planned), runCodeFiles(dir, settings, planned).then((files) => store.code.pin(run.id, files))]);
  // If they fail, the run stops at once (no block runs without its history being kept) and fails
  // with their error once its kernel is closed.
  const unprepared: { failed: boolean; error?: unknown } = { failed: false };
  const stopUnprepared = new AbortController();
  prepared.catch((error: unknown) => {
    unprepared.failed = true;
    unprepared.error = error;
    stopUnprepared.abort('cancelled');
  });
  // A run's first claim has nothing to resume: its first block does not wait for those two writes
  // (two commits, each of which a busy database can hold up for a long while); the recorder writes
  // nothing before them. A run claimed again resumes from the block runs, so it reads them first.
  const [blockRuns] = run.attempt === 1 ? [[]] : await prepared;
  const resume = new Map<string, ResumedBlock>(blockRuns.map((b) => [b.block_uuid, { status: b.status, attempts: b.attempts, attemptBase: b.attempt_base }]));
  // Outputs of this run stay in a folder of its own: a retry resumes from them, and they never mix
  // with another run of the same pipeline or with the editor's cache. Removed once the run completes.
  const runDir = path.join(dataDirOf(dir), 'runs', run.id);
  const cacheDir = path.join(runDir, 'cache');
  const kernel = new KernelHost({
    projectDir: dir,
    dataDir: dataDirOf(dir),
    pipelineUuid: run.pipeline,
    cacheDir,
    envDefaults: options.kernelEnv,
    standby: options.standby,
    secrets: options.secrets,
    // A block waiting for the run it triggered lends the worker a slot meanwhile: runs waiting on
    // runs must not take every slot, or the runs they wait for would never start.
    runs: queuedRuns({ store, project: run.project, projectDir: dir, pipeline: run.pipeline, lendSlot: () => store.queue.lend() }),
  });
  const hooks = new RunLifecycleHooks();
  const served = options.queues ? new Set(options.queues) : null;
  // Detached: the run never waits for the store. Writes keep their order, so a crash leaves a prefix
  // of the run's history, from which it resumes: a block whose completion was not written yet runs
  // again, and none is ever recorded completed twice (record-run.ts writes an attempt's end and its
  // block's move together).
  const stopRecording = recordRunInStore(hooks, store, { clock, detached: true, fenced: options.fenced, prepare: prepared.then(() => undefined) });
  let outcome;
  try {
    outcome = await runPipeline({
      runId: run.id,
      kernel,
      pipeline: settings.pipeline,
      planned,
      hooks,
      blockConfigs: settings.blockConfigs,
      concurrency: settings.blockRunLimit ?? undefined,
      variables: run.variables,
      executionDate: run.execution_date,
      triggerName: await triggerName,
      deadline: run.timeout_seconds ? (run.started_at ?? now()).getTime() + run.timeout_seconds * 1000 : null,
      releaseOutputs: false,
      resume,
      missingOutputs: async (completed) => {
        // A child's output is kept under its output name (`list:a` as `list.a`).
        const durable = await durableOutputs(cacheDir, completed.map(outputName));
        return completed.filter((u) => !durable.has(outputName(u)));
      },
      signal: AbortSignal.any([signal, stopUnprepared.signal]),
      drain: options.drain,
      ...(served ? { runsHere: (block: string) => served.has(queueOfBlock(settings.queues, block)) } : {}),
      clock,
    });
  } finally {
    await kernel.close();
    // Its writes wait for the block runs: when those failed, so did they, and the cause is told below.
    await (unprepared.failed ? stopRecording().catch(() => undefined) : stopRecording());
  }
  if (unprepared.failed) throw unprepared.error;
  if (options.fenced?.()) return 'initial';
  const first = outcome.elsewhere?.[0];
  if (outcome.stoppedBy === 'handoff' && first !== undefined) {
    // Its outputs so far stay in the run's folder, which every worker shares (the projects folder).
    const queue = queueOfBlock(settings.queues, first.split(':')[0] ?? first);
    await store.runs.handOff(run.id, options.workerId ?? run.worker_id ?? '', queue, now(), `handed to queue ${queue}: ${outcome.elsewhere?.join(', ')} ${outcome.elsewhere?.length === 1 ? 'runs' : 'run'} on its workers`);
    return 'initial';
  }
  if (outcome.stoppedBy === 'shutdown') {
    // Back to the queue: the next worker resumes from the blocks that did not complete.
    await store.runs.requeue(run.id, now(), 'the worker stopped; the run resumes from its unfinished blocks');
    return 'initial';
  }
  const status = outcome.status;
  const failed = [...outcome.blocks].filter(([, b]) => b.status === 'failed').map(([u]) => u);
  // A completed run's outputs are no longer needed: gone before anyone is told it completed (a run
  // that dies in between is resumed with every block completed, and just completes).
  if (status === 'completed') await fs.rm(runDir, { recursive: true, force: true }).catch(() => undefined);
  await store.runs.setStatus(run.id, status, now(), status === 'failed' ? `failed: ${failed.join(', ') || 'blocks could not run'}` : status === 'cancelled' ? 'cancelled' : undefined);
  return status;
}
