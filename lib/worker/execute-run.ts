import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../errors';
import { KernelHost } from '../kernel/host';
import { type BlockOutcome } from '../kernel/ipc';
import { type JsonObject, type JsonValue, type Pipeline } from '../pipeline/model';
import { loadPipeline, projectDir } from '../project/load';
import { dataDirOf } from '../project/paths';
import { type BlockError } from '../protocol/messages';
import { decideNext } from '../run/decide';
import { planRun } from '../run/plan';
import { type BlockRunStatus, pipelineStatusOf, type PipelineRunStatus } from '../run/states';
import { type Clock, systemClock } from '../scheduler/clock';
import { blockRunConfigs, type BlockRunConfig, DEFAULT_RETRY, retryDelayMs } from '../scheduler/retry';
import { type Store } from '../store/store';
import { type RunRow } from '../store/types';

export interface ExecuteRunOptions {
  store: Store;
  run: RunRow;
  projectsDir: string;
  kernelEnv?: Record<string, string>;
  /** The workspace's secrets, read before each block (KernelOptions.secrets); none when absent. */
  secrets?: () => Promise<Record<string, string>>;
  /** Aborted when the run is cancelled or the worker shuts down (see `reason`). */
  signal: AbortSignal;
  clock?: Clock;
}

/** Mage's runtime variables for a run: execution_date, ds, hr, trigger_name, pipeline_run_id ... */
export function runtimeVariables(run: RunRow, pipeline: Pipeline, triggerName: string | null): Record<string, JsonValue> {
  const iso = run.execution_date.toISOString();
  return {
    ...pipeline.variables,
    ...run.variables,
    execution_date: iso,
    ds: iso.slice(0, 10),
    hr: iso.slice(11, 13),
    pipeline_run_id: run.id,
    trigger_name: triggerName,
  };
}

function errorJson(e: BlockError): JsonObject {
  const out: JsonObject = { kind: e.kind, message: e.message };
  if (e.file !== undefined) out.file = e.file;
  if (e.line !== undefined) out.line = e.line;
  if (e.column !== undefined) out.column = e.column;
  if (e.stack !== undefined) out.stack = e.stack;
  return out;
}

async function readYaml(file: string): Promise<unknown> {
  try {
    return parseYaml(await fs.readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Executes one claimed pipeline run in a fresh kernel: blocks in dependency order, independent ones at once,
 * each attempt stored with its transitions, logs stored per block run, retries with back-off,
 * block and run timeouts, cancel. Blocks already completed (a resumed or retried run) are skipped;
 * their outputs come from the kernel's Parquet cache. Returns the run's final status.
 */
export async function executeRun(options: ExecuteRunOptions): Promise<PipelineRunStatus> {
  const { store, run, signal } = options;
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  let pipeline: Pipeline;
  let configs: Map<string, BlockRunConfig>;
  let dir: string;
  try {
    dir = await projectDir(options.projectsDir, run.project);
    const loaded = await loadPipeline(dir, run.pipeline);
    pipeline = loaded.pipeline;
    configs = blockRunConfigs(await readYaml(path.join(dir, 'metadata.yaml')), parseYaml(loaded.text), `pipelines/${run.pipeline}/metadata.yaml`);
  } catch (e) {
    await store.setRunStatus(run.id, 'failed', now(), `the pipeline could not be loaded: ${errorMessage(e)}`);
    return 'failed';
  }
  const trigger = run.trigger_id ? await store.getTriggerById(run.trigger_id) : null;
  const variables = runtimeVariables(run, pipeline, trigger?.name ?? null);
  const planned = planRun(pipeline.blocks, { kind: 'pipeline' });
  const specs = new Map(pipeline.blocks.map((b) => [b.uuid, b]));
  const nodes = planned.map((u) => ({ uuid: u, upstream: specs.get(u)?.upstream ?? [] }));
  const blockRuns = await store.ensureBlockRuns(run.id, planned);
  const statuses = new Map<string, BlockRunStatus>();
  const attempts = new Map<string, { done: number; base: number }>();
  const configOf = (u: string) => configs.get(u) ?? { retry: DEFAULT_RETRY, timeout: null };
  for (const b of blockRuns) {
    attempts.set(b.block_uuid, { done: b.attempts, base: b.attempt_base });
    let status = b.status;
    if (status === 'running') status = 'queued'; // resumed after its worker was lost (recovery already said so)
    // A block whose attempts are used up (its last one was lost with its worker) fails now.
    if ((status === 'queued' || status === 'initial') && b.attempts - b.attempt_base > configOf(b.block_uuid).retry.retries) {
      await store.setBlockStatus(run.id, b.block_uuid, 'failed', now(), { message: `no retries left after ${b.attempts - b.attempt_base} attempts` });
      status = 'failed';
    }
    statuses.set(b.block_uuid, status);
  }
  for (const [u, s] of statuses) {
    if (s === 'initial') {
      await store.setBlockStatus(run.id, u, 'queued', now());
      statuses.set(u, 'queued');
    }
  }

  const runDeadline = run.timeout_seconds ? (run.started_at ?? now()).getTime() + run.timeout_seconds * 1000 : null;
  // Outputs of this run stay in a folder of its own: a retry resumes from them, and they never mix
  // with another run of the same pipeline or with the editor's cache. Removed once the run completes.
  const runDir = path.join(dataDirOf(dir), 'runs', run.id);
  const kernel = new KernelHost({
    projectDir: dir,
    dataDir: dataDirOf(dir),
    pipelineUuid: run.pipeline,
    cacheDir: path.join(runDir, 'cache'),
    envDefaults: options.kernelEnv,
    secrets: options.secrets,
  });
  // Attempt in progress per block, so log lines are stored under the attempt that printed them.
  const currentAttempt = new Map<string, number>();
  const buffer: { runId: string; block: string; attempt: number; at: Date; stream: string; text: string }[] = [];
  const flush = async () => {
    const lines = buffer.splice(0, buffer.length);
    await store.appendLogs(lines).catch(() => undefined);
  };
  const log = (block: string, attempt: number, stream: string, text: string) => {
    for (const line of text.replace(/\n$/, '').split('\n')) buffer.push({ runId: run.id, block, attempt, at: now(), stream, text: line });
  };
  const flushTimer = setInterval(() => void flush(), 250);
  const stopLogs = kernel.onLog((e) => {
    if (e.runId === run.id) log(e.block, currentAttempt.get(e.block) ?? 0, e.stream, e.text);
  });
  let stopReason: 'cancelled' | 'shutdown' | null = null;
  const onAbort = () => {
    stopReason = signal.reason === 'shutdown' ? 'shutdown' : 'cancelled';
    // The run's kernel is its own: stopping it ends the blocks at once, even while the kernel is still starting.
    void kernel.close();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();

  const inFlight = new Map<string, Promise<void>>();
  // Blocks stopped only because another block in the same kernel timed out: their attempt is not theirs to lose.
  const collateral = new Map<string, string>();

  /** Runs one block through its attempts (retries with back-off) until it completes or gives up. */
  const runBlock = async (u: string): Promise<void> => {
    const block = specs.get(u)!;
    const cfg = configOf(u);
    const count = attempts.get(u) ?? { done: 0, base: 0 };
    attempts.set(u, count);
    for (;;) {
      const attempt = count.done + 1;
      count.done = attempt;
      currentAttempt.set(u, attempt);
      statuses.set(u, 'running');
      await store.startAttempt(run.id, u, attempt, now());
      const started = now().getTime();
      const limits = [cfg.timeout === null ? null : cfg.timeout * 1000, runDeadline === null ? null : runDeadline - started].filter((x): x is number => x !== null);
      const limit = limits.length > 0 ? Math.max(0, Math.min(...limits)) : null;
      let timedOut = false;
      const timer = limit === null ? null : setTimeout(() => {
        timedOut = true;
        // JavaScript cannot be stopped inside its thread: the kernel goes, and the next attempt starts a new one.
        for (const other of inFlight.keys()) if (other !== u) collateral.set(other, u);
        void kernel.close();
      }, limit);
      let outcome: BlockOutcome;
      try {
        outcome = await kernel.execute({
          runId: run.id,
          block: { uuid: block.uuid, type: block.type, language: block.language, file: block.file, upstream: block.upstream, configuration: block.configuration },
          variables,
          executionDate: run.execution_date.toISOString(),
        });
      } finally {
        if (timer) clearTimeout(timer);
      }
      const finished = now();
      const duration = outcome.durationMs;
      if (outcome.status === 'completed') {
        collateral.delete(u);
        await flush();
        await store.finishAttempt(run.id, u, attempt, 'completed', finished, duration, null);
        await store.setBlockStatus(run.id, u, 'completed', finished, { attempt, rowCount: outcome.preview.rowCount });
        statuses.set(u, 'completed');
        return;
      }
      const error: BlockError = timedOut
        ? { kind: 'interrupted', message: `timed out after ${Math.round((limit ?? 0) / 1000)} s (${cfg.timeout !== null && limit === cfg.timeout * 1000 ? 'block timeout' : 'run timeout'})` }
        : outcome.error;
      log(u, attempt, 'system', `attempt ${attempt} ${stopReason ? 'stopped' : 'failed'}: ${error.message}`);
      await flush();
      if (stopReason === 'shutdown') {
        // The worker is stopping: the attempt is lost, not failed; the run resumes on the next start.
        await store.finishAttempt(run.id, u, attempt, 'cancelled', finished, duration, { kind: 'interrupted', message: 'the worker stopped' });
        return;
      }
      if (stopReason === 'cancelled') {
        await store.finishAttempt(run.id, u, attempt, 'cancelled', finished, duration, errorJson(error));
        await store.setBlockStatus(run.id, u, 'cancelled', finished, { attempt, error: errorJson(error), message: 'cancelled' });
        statuses.set(u, 'cancelled');
        return;
      }
      const culprit = collateral.get(u);
      collateral.delete(u);
      if (culprit !== undefined && !timedOut) {
        const message = `stopped because ${culprit} timed out in the same kernel; run again without using a retry`;
        await store.finishAttempt(run.id, u, attempt, 'cancelled', finished, duration, { kind: 'interrupted', message });
        await store.setBlockStatus(run.id, u, 'queued', now(), { attempt, message });
        count.base += 1;
        continue;
      }
      await store.finishAttempt(run.id, u, attempt, 'failed', finished, duration, errorJson(error));
      await store.setBlockStatus(run.id, u, 'failed', finished, { attempt, error: errorJson(error), message: error.message });
      statuses.set(u, 'failed');
      const runOver = runDeadline !== null && finished.getTime() >= runDeadline;
      if (attempt - count.base > cfg.retry.retries || runOver) return;
      const wait = retryDelayMs(cfg.retry, attempt - count.base);
      await store.setBlockStatus(run.id, u, 'queued', now(), { attempt, message: `retry ${attempt - count.base} of ${cfg.retry.retries} in ${wait / 1000} s` });
      statuses.set(u, 'queued');
      await clock.sleep(wait, signal);
      if (stopReason) return;
    }
  };

  try {
    // Independent branches run at once in the run's kernel, as they do in the editor.
    for (;;) {
      if (!stopReason) {
        const view = new Map(statuses);
        for (const u of inFlight.keys()) view.set(u, 'running');
        const next = decideNext({ nodes, statuses: view });
        for (const u of next.upstreamFailed) {
          statuses.set(u, 'upstream_failed');
          await store.setBlockStatus(run.id, u, 'upstream_failed', now());
        }
        for (const u of next.start) inFlight.set(u, runBlock(u).finally(() => inFlight.delete(u)));
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
  } finally {
    clearInterval(flushTimer);
    signal.removeEventListener('abort', onAbort);
    await kernel.close();
    await Promise.allSettled(inFlight.values());
    stopLogs();
    await flush();
  }
  if (stopReason === 'shutdown') {
    // Back to the queue: the next worker resumes from the blocks that did not complete.
    await store.requeueRun(run.id, now(), 'the worker stopped; the run resumes from its unfinished blocks');
    return 'initial';
  }
  if (stopReason === 'cancelled') {
    for (const [u, s] of statuses) {
      if (s === 'queued' || s === 'initial' || s === 'running') {
        statuses.set(u, 'cancelled');
        await store.setBlockStatus(run.id, u, 'cancelled', now(), { message: 'the run was cancelled' });
      }
    }
  }
  const status = pipelineStatusOf([...statuses.values()]);
  const failed = [...statuses].filter(([, s]) => s === 'failed').map(([u]) => u);
  // A completed run's outputs are no longer needed: gone before anyone is told it completed (a run
  // that dies in between is resumed with every block completed, and just completes).
  if (status === 'completed') await fs.rm(runDir, { recursive: true, force: true }).catch(() => undefined);
  await store.setRunStatus(run.id, status, now(), status === 'failed' ? `failed: ${failed.join(', ') || 'blocks could not run'}` : status === 'cancelled' ? 'cancelled' : undefined);
  return status;
}
