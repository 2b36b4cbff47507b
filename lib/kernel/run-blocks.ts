import { randomUUID } from 'node:crypto';
import { type JsonValue, type Pipeline } from '../pipeline/model';
import { type BlockError, type BlockProgress, type OutputPreview } from '../protocol/messages';
import { decideNext, unneededOutputs } from '../run/decide';
import { planRun, type RunScope } from '../run/plan';
import { type BlockRunStatus, isFinished, pipelineStatusOf, type PipelineRunStatus } from '../run/states';
import { type KernelHost } from './host';

/** Lifecycle events of a run; the host of the run decides whom to tell and what to store. */
export type RunEvent =
  | { type: 'run_status'; runId: string; status: PipelineRunStatus; blocks: string[] }
  | { type: 'block_status'; runId: string; block: string; status: BlockRunStatus; at: string; durationMs?: number }
  | { type: 'log'; runId: string; block: string; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'block_progress'; runId: string; block: string; progress: BlockProgress }
  | { type: 'output'; runId: string; block: string; preview: OutputPreview }
  | { type: 'block_error'; runId: string; block: string; error: BlockError };

export interface RunRequest {
  kernel: KernelHost;
  pipeline: Pipeline;
  scope: RunScope;
  /** Runtime variables; they override the pipeline's global variables. */
  variables?: Record<string, JsonValue>;
  executionDate?: Date;
  runId?: string;
  /** Blocks running at once inside the kernel; independent branches overlap. */
  concurrency?: number;
  /**
   * A one-shot run (`grimoire run`): each output is dropped in the kernel as soon as every block
   * that reads it has finished, so a 5M-row load does not sit in memory through the exports.
   */
  releaseOutputs?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
}

export interface RunResult {
  runId: string;
  status: PipelineRunStatus;
  blocks: Map<string, { status: BlockRunStatus; durationMs?: number; rowCount?: number; error?: BlockError }>;
}

/** Runs a scope of a pipeline in dependency order through a kernel. */
export async function runBlocks(req: RunRequest): Promise<RunResult> {
  const runId = req.runId ?? randomUUID();
  const emit = req.onEvent ?? (() => undefined);
  const planned = planRun(req.pipeline.blocks, req.scope);
  const specs = new Map(req.pipeline.blocks.map((b) => [b.uuid, b]));
  const nodes = planned.map((u) => specs.get(u)!).map((b) => ({ uuid: b.uuid, upstream: b.upstream }));
  const statuses = new Map<string, BlockRunStatus>(planned.map((u) => [u, 'initial']));
  const result: RunResult = { runId, status: 'initial', blocks: new Map(planned.map((u) => [u, { status: 'initial' }])) };
  const variables = { ...req.pipeline.variables, ...req.variables };
  const executionDate = (req.executionDate ?? new Date()).toISOString();
  const concurrency = req.concurrency ?? 4;

  const set = (block: string, status: BlockRunStatus, extra: { durationMs?: number } = {}) => {
    statuses.set(block, status);
    const entry = result.blocks.get(block);
    if (entry) Object.assign(entry, { status, ...extra });
    emit({ type: 'block_status', runId, block, status, at: new Date().toISOString(), ...extra });
  };
  const stopLogs = req.kernel.onLog((e) => {
    if (e.runId === runId) emit({ type: 'log', runId, block: e.block, stream: e.stream, text: e.text });
  });
  const stopProgress = req.kernel.onProgress((e) => {
    if (e.runId === runId) emit({ type: 'block_progress', runId, block: e.block, progress: e.progress });
  });

  emit({ type: 'run_status', runId, status: 'running', blocks: planned });
  for (const u of planned) set(u, 'queued');
  const running = new Map<string, Promise<void>>();
  const released = new Set<string>();
  let cancelled = false;
  const onAbort = () => {
    cancelled = true;
    for (const [u, s] of statuses) if (s === 'queued' || s === 'initial') set(u, 'cancelled');
    void req.kernel.interrupt();
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();

  try {
    for (;;) {
      if (!cancelled) {
        const next = decideNext({ nodes, statuses });
        for (const u of next.upstreamFailed) set(u, 'upstream_failed');
        for (const u of next.start) {
          if (running.size >= concurrency) break;
          const block = specs.get(u)!;
          set(u, 'running');
          const task = req.kernel
            .execute({
              runId,
              block: {
                uuid: block.uuid,
                type: block.type,
                language: block.language,
                file: block.file,
                upstream: block.upstream,
                configuration: block.configuration,
              },
              variables,
              executionDate,
            })
            .then((outcome) => {
              running.delete(u);
              const entry = result.blocks.get(u);
              if (outcome.status === 'completed') {
                if (entry) entry.rowCount = outcome.preview.rowCount;
                emit({ type: 'output', runId, block: u, preview: outcome.preview });
                set(u, 'completed', { durationMs: outcome.durationMs });
              } else {
                if (entry) entry.error = outcome.error;
                emit({ type: 'block_error', runId, block: u, error: outcome.error });
                set(u, cancelled || outcome.error.kind === 'interrupted' ? 'cancelled' : 'failed', { durationMs: outcome.durationMs });
              }
            });
          running.set(u, task);
        }
      }
      // Only while blocks still run or wait: at the end the kernel is about to go anyway.
      if (req.releaseOutputs && [...statuses.values()].some((st) => !isFinished(st))) {
        const unneeded = unneededOutputs({ nodes, statuses }).filter((u) => !released.has(u));
        for (const u of unneeded) released.add(u);
        req.kernel.release(unneeded);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    stopLogs();
    stopProgress();
    req.signal?.removeEventListener('abort', onAbort);
  }
  // Anything still waiting could never start (its upstream was cancelled).
  for (const [u, s] of statuses) if (s === 'queued' || s === 'initial') set(u, cancelled ? 'cancelled' : 'upstream_failed');
  result.status = pipelineStatusOf([...statuses.values()]);
  emit({ type: 'run_status', runId, status: result.status, blocks: planned });
  return result;
}
