import { type BlockOutcome } from '../kernel/ipc';
import { type ExecuteRequest, type KernelHost } from '../kernel/host';
import { type JsonValue, type Pipeline } from '../pipeline/model';
import { type BlockError } from '../protocol/run-events';
import { decideNext, unneededOutputs } from '../run/decide';
import { type BlockRunStatus, isFinished, pipelineStatusOf, type PipelineRunStatus } from '../run/states';
import { type Clock, systemClock } from '../clock';
import { type BlockRunConfig, DEFAULT_RETRY, retryDelayMs } from '../scheduler/retry';
import { type RunLifecycleHooks } from './lifecycle-hooks';
import { runtimeVariables } from './runtime-variables';

/** What the engine needs of a kernel (KernelHost; a fake one in unit tests). */
export type EngineKernel = Pick<KernelHost, 'execute' | 'interrupt' | 'release' | 'onLog' | 'onProgress'>;

/** Where a block run stands when a run resumes (from the store): its status and attempts so far. */
export interface ResumedBlock {
  status: BlockRunStatus;
  /** Attempts made so far, all runs of the run included. */
  attempts: number;
  /** Attempts that do not count against retry_config (before a "retry the run", or lost to a stop). */
  attemptBase: number;
}

export interface EngineRequest {
  runId: string;
  kernel: EngineKernel;
  pipeline: Pipeline;
  /** The blocks to run, in dependency order: `planRun(pipeline.blocks, scope)`, planned once by the host. */
  planned: readonly string[];
  hooks: RunLifecycleHooks;
  /** retry_config and timeout per block (run-settings.ts); a block missing here runs once, unlimited. */
  blockConfigs?: ReadonlyMap<string, BlockRunConfig>;
  /** Runtime variables; they override the pipeline's global variables. */
  variables?: Record<string, JsonValue>;
  executionDate?: Date;
  /** The trigger that made the run, for the `trigger_name` variable. */
  triggerName?: string | null;
  /** When the whole run must be over (ms since the epoch); blocks still running then are stopped. */
  deadline?: number | null;
  /** Blocks running at once inside the kernel; independent branches overlap. Default 4. */
  concurrency?: number;
  /**
   * Drop each output in the kernel once every block of the run that reads it has finished, so a
   * 5M-row load does not sit in memory through the exports (one-shot runs: CLI, workers).
   */
  releaseOutputs?: boolean;
  /** A resumed run: where each block stood. Completed blocks are not run again. */
  resume?: ReadonlyMap<string, ResumedBlock>;
  /**
   * Of these completed blocks, the ones whose output is gone (a crash lost it): they run again
   * before any block that reads them. Without it, completed outputs are trusted.
   */
  missingOutputs?: (completed: readonly string[]) => Promise<string[]>;
  /**
   * Aborts the run. Reason `'shutdown'`: the host is stopping (a worker draining); attempts in
   * flight are lost, not failed, no final status is told, and the run resumes elsewhere. Any other
   * reason cancels the run.
   */
  signal?: AbortSignal;
  clock?: Clock;
}

export interface BlockResult {
  status: BlockRunStatus;
  attempts: number;
  /** Milliseconds of the last attempt. */
  durationMs?: number;
  rowCount?: number;
  error?: BlockError;
}

export interface RunOutcome {
  runId: string;
  status: PipelineRunStatus;
  /** Why the run stopped early: cancelled, or its host shut down (the run is to be resumed). */
  stoppedBy: 'cancel' | 'shutdown' | null;
  blocks: Map<string, BlockResult>;
}

/** Re-exported so hosts build the same variables for anything else they show. */
export { runtimeVariables };

/**
 * The one run loop, for every host (editor, `grimoire run`, workers): decide what may start, start
 * it in the kernel, retry with back-off, stop what runs past its timeout or the run's deadline,
 * cancel, mark upstream_failed, release outputs, cap concurrency, and tell the host's hooks about
 * each step (lifecycle-hooks.ts). The policy is pure (lib/run, lib/scheduler/retry.ts); this
 * applies it. Rejects only when a hook does (e.g. the store is unreachable); a block's failure is
 * an outcome, never an exception.
 */
export async function runPipeline(req: EngineRequest): Promise<RunOutcome> {
  const { runId, kernel, hooks, pipeline } = req;
  const clock = req.clock ?? systemClock;
  const now = () => clock.now();
  const planned = [...req.planned];
  const specs = new Map(pipeline.blocks.map((b) => [b.uuid, b]));
  const nodes = planned.flatMap((u) => {
    const spec = specs.get(u);
    return spec ? [{ uuid: u, upstream: spec.upstream }] : [];
  });
  const configOf = (u: string): BlockRunConfig => req.blockConfigs?.get(u) ?? { retry: DEFAULT_RETRY, timeout: null };
  const variables = runtimeVariables({ pipeline, variables: req.variables ?? {}, executionDate: req.executionDate ?? now(), runId, triggerName: req.triggerName ?? null });
  const executionDate = (req.executionDate ?? now()).toISOString();
  const concurrency = Math.max(1, req.concurrency ?? 4);
  const blocks = new Map<string, BlockResult>(planned.map((u) => [u, { status: 'initial', attempts: 0 }]));
  const attemptBase = new Map<string, number>();
  const statusOf = (u: string): BlockRunStatus => blocks.get(u)?.status ?? 'initial';
  const statuses = () => new Map(planned.map((u) => [u, statusOf(u)]));

  /** Records a move and tells the hooks; `post` for moves made where nothing may wait (abort). */
  const move = (block: string, status: BlockRunStatus, extra: { attempt?: number; durationMs?: number; message?: string } = {}, wait = true): Promise<void> => {
    const entry = blocks.get(block);
    if (entry) {
      entry.status = status;
      if (extra.durationMs !== undefined) entry.durationMs = extra.durationMs;
    }
    const event = { type: 'block_status' as const, runId, block, status, at: now().toISOString(), ...extra };
    if (wait) return hooks.emit(event);
    hooks.post(event);
    return Promise.resolve();
  };

  await hooks.emit({ type: 'run_status', runId, status: 'running', blocks: planned });

  // Where each block starts from: fresh, or where a resumed run left it.
  for (const u of planned) {
    const prior = req.resume?.get(u);
    const entry = blocks.get(u);
    if (!entry) continue;
    entry.attempts = prior?.attempts ?? 0;
    attemptBase.set(u, prior?.attemptBase ?? 0);
    const status = prior?.status ?? 'initial';
    entry.status = status;
    if (status === 'initial' || status === 'queued' || status === 'running') {
      // A block whose attempts are used up (its last one was lost with its worker) fails now.
      const used = entry.attempts - (prior?.attemptBase ?? 0);
      if (prior && used > configOf(u).retry.retries) await move(u, 'failed', { attempt: entry.attempts, message: `no retries left after ${used} attempts` });
      else if (status !== 'queued') await move(u, 'queued', status === 'running' ? { message: 'resumed: its attempt was lost when its host stopped' } : {});
    }
  }
  // A completed block whose output a crash lost runs again, before anything that reads it.
  if (req.missingOutputs) {
    const readers = new Set(nodes.filter((n) => !isFinished(statusOf(n.uuid))).flatMap((n) => n.upstream));
    const completed = planned.filter((u) => statusOf(u) === 'completed' && readers.has(u));
    const missing = completed.length > 0 ? await req.missingOutputs(completed) : [];
    for (const u of missing) await move(u, 'queued', { message: 'its output is missing (lost in a crash): it runs again' });
  }

  const stopLogs = kernel.onLog((e) => {
    if (e.runId === runId) hooks.post({ type: 'log', runId, block: e.block, stream: e.stream, text: e.text });
  });
  const stopProgress = kernel.onProgress((e) => {
    if (e.runId === runId) hooks.post({ type: 'block_progress', runId, block: e.block, progress: e.progress });
  });
  let stoppedBy: RunOutcome['stoppedBy'] = null;
  const inFlight = new Map<string, Promise<void>>();
  const onAbort = () => {
    stoppedBy = req.signal?.reason === 'shutdown' ? 'shutdown' : 'cancel';
    // Waiting blocks are cancelled at once so the browser shows it; a shut-down host leaves them queued to resume.
    if (stoppedBy === 'cancel') {
      for (const u of planned) {
        const s = statusOf(u);
        if ((s === 'queued' || s === 'initial') && !inFlight.has(u)) void move(u, 'cancelled', { message: 'the run was cancelled' }, false);
      }
    }
    void kernel.interrupt();
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  // Blocks stopped only because another block in the same kernel ran out of time: their attempt is not theirs to lose.
  const collateral = new Map<string, string>();

  /** One block through its attempts, until it completes, gives up, or the run stops. */
  const runBlock = async (u: string, spec: Pipeline['blocks'][number]): Promise<void> => {
    const entry = blocks.get(u);
    if (!entry) return;
    const config = configOf(u);
    for (;;) {
      const attempt = entry.attempts + 1;
      entry.attempts = attempt;
      await move(u, 'running', { attempt, message: `attempt ${attempt}` });
      const started = now().getTime();
      const limits = [config.timeout === null ? null : config.timeout * 1000, req.deadline == null ? null : req.deadline - started].filter((x): x is number => x !== null);
      const limit = limits.length > 0 ? Math.max(0, Math.min(...limits)) : null;
      let timedOut = false;
      const timer =
        limit === null
          ? null
          : setTimeout(() => {
              timedOut = true;
              // JavaScript cannot be stopped inside its thread: the kernel stops everything it runs.
              for (const other of inFlight.keys()) if (other !== u) collateral.set(other, u);
              void kernel.interrupt();
            }, limit);
      const request: ExecuteRequest = {
        runId,
        block: { uuid: spec.uuid, type: spec.type, language: spec.language, file: spec.file, upstream: spec.upstream, configuration: spec.configuration },
        variables,
        executionDate,
      };
      let outcome: BlockOutcome;
      try {
        outcome = await kernel.execute(request);
      } finally {
        if (timer) clearTimeout(timer);
      }
      const at = now().toISOString();
      const durationMs = outcome.durationMs;
      if (outcome.status === 'completed') {
        collateral.delete(u);
        entry.rowCount = outcome.preview.rowCount;
        delete entry.error;
        await hooks.emit({ type: 'output', runId, block: u, preview: outcome.preview });
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'completed', at, durationMs });
        await move(u, 'completed', { attempt, durationMs });
        return;
      }
      const error: BlockError = timedOut
        ? { kind: 'interrupted', message: `timed out after ${Math.round((limit ?? 0) / 1000)} s (${config.timeout !== null && limit === config.timeout * 1000 ? 'block timeout' : 'run timeout'})` }
        : outcome.error;
      if (stoppedBy === 'shutdown') {
        // The host is stopping: the attempt is lost, not failed; the run resumes from here elsewhere.
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'cancelled', at, durationMs, error: { kind: 'interrupted', message: 'the worker stopped' }, lost: true });
        return;
      }
      entry.error = error;
      await hooks.emit({ type: 'block_error', runId, block: u, error });
      const culprit = collateral.get(u);
      collateral.delete(u);
      // Stopped from outside the run (the editor's Interrupt): the user's choice, not a failure to retry.
      const interruptedByUser = !timedOut && culprit === undefined && error.kind === 'interrupted';
      if (stoppedBy === 'cancel' || interruptedByUser) {
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'cancelled', at, durationMs, error });
        await move(u, 'cancelled', { attempt, durationMs, message: 'cancelled' });
        return;
      }
      if (culprit !== undefined && !timedOut) {
        const message = `stopped because ${culprit} timed out in the same kernel; run again without using a retry`;
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'cancelled', at, durationMs, error: { kind: 'interrupted', message } });
        await move(u, 'queued', { attempt, message });
        attemptBase.set(u, (attemptBase.get(u) ?? 0) + 1);
        continue;
      }
      const counted = attempt - (attemptBase.get(u) ?? 0);
      const runOver = req.deadline != null && now().getTime() >= req.deadline;
      const retryInMs = counted > config.retry.retries || runOver ? undefined : retryDelayMs(config.retry, counted);
      await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'failed', at, durationMs, error, ...(retryInMs === undefined ? {} : { retryInMs }) });
      await move(u, 'failed', { attempt, durationMs, message: error.message });
      if (retryInMs === undefined) return;
      await move(u, 'queued', { attempt, message: `retry ${counted} of ${config.retry.retries} in ${retryInMs / 1000} s` });
      await clock.sleep(retryInMs, req.signal);
      if (stoppedBy) return;
    }
  };

  const released = new Set<string>();
  let failure: unknown = null;
  try {
    for (;;) {
      if (!stoppedBy) {
        const view = statuses();
        for (const u of inFlight.keys()) view.set(u, 'running');
        const next = decideNext({ nodes, statuses: view });
        for (const u of next.upstreamFailed) await move(u, 'upstream_failed');
        for (const u of next.start) {
          const spec = specs.get(u);
          if (inFlight.size >= concurrency || !spec) break;
          inFlight.set(
            u,
            runBlock(u, spec).finally(() => inFlight.delete(u)),
          );
        }
      }
      // Only while blocks still run or wait: at the end the kernel is about to go anyway.
      if (req.releaseOutputs && planned.some((u) => !isFinished(statusOf(u)))) {
        const unneeded = unneededOutputs({ nodes, statuses: statuses() }).filter((u) => !released.has(u));
        for (const u of unneeded) released.add(u);
        kernel.release(unneeded);
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
  } catch (e) {
    // A hook failed (the host can no longer record the run): stop the blocks still running.
    failure = e;
    void kernel.interrupt();
    await Promise.allSettled(inFlight.values());
  } finally {
    stopLogs();
    stopProgress();
    req.signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== null) throw failure;
  if (stoppedBy === 'shutdown') {
    await hooks.settled();
    return { runId, status: pipelineStatusOf([...statuses().values()]), stoppedBy, blocks };
  }
  // Anything still waiting could never start: its upstream was cancelled, or the run was.
  for (const u of planned) {
    const s = statusOf(u);
    if (s === 'queued' || s === 'initial' || s === 'running') await move(u, stoppedBy ? 'cancelled' : 'upstream_failed', stoppedBy ? { message: 'the run was cancelled' } : {});
  }
  const status = pipelineStatusOf([...statuses().values()]);
  await hooks.emit({ type: 'run_status', runId, status, blocks: planned });
  return { runId, status, stoppedBy, blocks };
}
