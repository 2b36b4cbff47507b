/**
 * `ctx.runs` (lib/kernel/block-api.ts) for hosts with a run store: a block starts a run of
 * another pipeline of its project (Mage's trigger-pipeline block), queued for the workers like an
 * API-triggered run, and may wait for it; or asks whether a pipeline (or one block of it) has a
 * completed run for an execution date (Mage's check_status).
 */
import { type KernelRuns } from '../kernel/host';
import { loadPipeline } from '../project/load';
import { type RunsAnswer, type RunsRequest } from '../protocol/runs-request';
import { isFinished } from '../run/states';
import { type Store } from '../store/store';
import { type RunRow } from '../store/types';
import { RUN_PREFIX } from './started-by';

type Trigger = Extract<RunsRequest, { op: 'trigger' }>;
type Completed = Extract<RunsRequest, { op: 'completed' }>;

const HOUR_MS = 3_600_000;

/** The run as ctx.runs tells it. */
function infoOf(run: RunRow): { id: string; pipeline: string; status: string; executionDate: string } {
  return { id: run.id, pipeline: run.pipeline, status: run.status, executionDate: run.execution_date.toISOString() };
}

/**
 * Whether the latest run of the pipeline for the execution date (within the `hours` before it)
 * completed; with `block`, whether that block run of it did. Pure over the store's answers.
 */
export async function checkStatus(store: Store, project: string, request: Completed, executionDate: Date): Promise<boolean> {
  const run = await store.runs.latestForExecutionDate(project, request.pipeline, new Date(executionDate.getTime() - request.hours * HOUR_MS), executionDate);
  if (!run) return false;
  if (request.block === undefined) return run.status === 'completed';
  const blocks = await store.blockRuns.list(run.id);
  return blocks.some((b) => b.block_uuid === request.block && b.status === 'completed');
}

/** Waits for run `id` to end (looking every `pollMs`), or for `signal`; its last row. */
async function waitForEnd(store: Store, id: string, signal: AbortSignal, pollMs: number): Promise<RunRow> {
  // One listener for the whole wait (a wait of hours looks thousands of times).
  let wake: () => void = () => undefined;
  const onAbort = () => wake();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const run = await store.runs.get(id);
      if (!run) throw new Error(`run ${id} is gone from the run history`);
      if (isFinished(run.status)) return run;
      if (signal.aborted) throw new Error(`stopped waiting for run ${id}: the block was stopped`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The pipelines of run `runId` and of the runs that started it (ctx.runs.trigger), nearest first. */
async function pipelineChain(store: Store, runId: string): Promise<string[]> {
  const chain: string[] = [];
  let next: string | null = runId;
  // Bounded: a chain is as long as the triggers that made it, never a loop of ids.
  for (let depth = 0; next !== null && depth < 50; depth++) {
    const run: RunRow | null = await store.runs.get(next);
    if (!run) break;
    chain.push(run.pipeline);
    next = run.started_by?.startsWith(RUN_PREFIX) ? run.started_by.slice(RUN_PREFIX.length) : null;
  }
  return chain;
}

/** Why a run the block waited for did not complete: its status and the blocks that failed. */
async function notCompleted(store: Store, run: RunRow): Promise<string> {
  const failed = (await store.blockRuns.list(run.id)).filter((b) => b.status === 'failed').map((b) => b.block_uuid);
  return `run ${run.id} of pipeline ${run.pipeline} ${run.status}${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}${run.error ? `: ${run.error}` : ''}`;
}

export interface QueuedRunsOptions {
  store: Store;
  /** The project (its folder name) and folder whose pipelines may be started. */
  project: string;
  projectDir: string;
  /** The pipeline whose blocks ask: it may not start itself (a run that waits for itself never ends). */
  pipeline: string;
  /** How often a waiting trigger looks at the run; default 500 ms. */
  pollMs?: number;
  /**
   * Lends the host's queue one more slot while a block waits for the run it triggered (a worker:
   * JobQueue.lend), so runs waiting on runs never hold every slot; gives it back when called.
   */
  lendSlot?: () => () => void;
}

/**
 * ctx.runs for the editor and workers: triggered runs are queued (kind `pipeline`, started by
 * `run:<asking run>`) for the workers. Errors (unknown pipeline, a pipeline starting itself, a
 * run that did not complete) are answers the block throws, naming what is wrong.
 */
export function queuedRuns(options: QueuedRunsOptions): KernelRuns {
  const { store, project } = options;
  return {
    async handle(request, asking, signal): Promise<RunsAnswer> {
      const executionDate = new Date(request.executionDate ?? asking.executionDate);
      if (Number.isNaN(executionDate.getTime())) return { ok: false, message: `ctx.runs: executionDate ${request.executionDate ?? asking.executionDate} is not a date` };
      if (request.op === 'completed') return { ok: true, completed: await checkStatus(store, project, request, executionDate) };
      return trigger(request, asking, executionDate, signal);
    },
  };

  async function trigger(request: Trigger, asking: { runId: string }, executionDate: Date, signal: AbortSignal): Promise<RunsAnswer> {
    if (request.pipeline === options.pipeline) return { ok: false, message: `ctx.runs.trigger: pipeline ${request.pipeline} cannot start a run of itself` };
    // A run that (through the runs that started it) comes from the pipeline it would start: with
    // wait, each would wait for the other forever.
    const chain = await pipelineChain(store, asking.runId);
    if (chain.includes(request.pipeline)) return { ok: false, message: `ctx.runs.trigger: pipeline ${request.pipeline} is already running in this chain (${[...chain].reverse().join(' -> ')} -> ${request.pipeline}): it would never end` };
    // Unknown or invalid pipelines are refused here, naming them, rather than failing in a worker later.
    await loadPipeline(options.projectDir, request.pipeline);
    const run = await store.runs.create({ project, pipeline: request.pipeline, kind: 'pipeline', executionDate, variables: request.variables, startedBy: `${RUN_PREFIX}${asking.runId}` });
    if (!run) return { ok: false, message: `ctx.runs.trigger: the run of ${request.pipeline} could not be created` };
    if (!request.wait) return { ok: true, run: infoOf(run) };
    const giveBack = options.lendSlot?.() ?? (() => undefined);
    let ended: RunRow;
    try {
      ended = await waitForEnd(store, run.id, signal, options.pollMs ?? 500);
    } finally {
      giveBack();
    }
    if (ended.status !== 'completed') return { ok: false, message: `ctx.runs.trigger: ${await notCompleted(store, ended)}` };
    return { ok: true, run: infoOf(ended) };
  }
}
