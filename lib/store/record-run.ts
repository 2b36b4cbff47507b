import { RunLifecycleHooks } from '../engine/lifecycle-hooks';
import { type JsonObject } from '../pipeline/model';
import { type BlockError, type RunEventOf } from '../protocol/run-events';
import { type Clock, systemClock } from '../clock';
import { type Store } from './store';

function errorJson(e: BlockError): JsonObject {
  const out: JsonObject = { kind: e.kind, message: e.message };
  if (e.file !== undefined) out.file = e.file;
  if (e.line !== undefined) out.line = e.line;
  if (e.column !== undefined) out.column = e.column;
  if (e.stack !== undefined) out.stack = e.stack;
  return out;
}

/** An attempt's end as the store keeps it. */
function endOf(e: RunEventOf<'attempt_finished'>) {
  return { attempt: e.attempt, status: e.status, at: new Date(e.at), durationMs: e.durationMs, error: e.error ? errorJson(e.error) : null };
}

interface LogLine {
  runId: string;
  block: string;
  attempt: number;
  at: Date;
  stream: string;
  text: string;
}

export interface RecordOptions {
  clock?: Clock;
  /**
   * The run does not wait for the store: writes keep their order but happen behind the run (the
   * editor and `grimoire run`, whose runs are never resumed, do not slow down for the database).
   * A failed write then surfaces from the returned stop function.
   */
  detached?: boolean;
  /** Also set the run's own status when it finishes (hosts that have nothing to add to it). */
  finishRun?: boolean;
  /** Writes that must come first (the run's row); every other write waits for it. */
  prepare?: Promise<void>;
  /**
   * True once the run belongs to another process (this worker was found lost): events from then
   * on are not written. Only with `detached`, where writes trail the run.
   */
  fenced?: () => boolean;
}

/**
 * Lifecycle hooks that keep a stored run up to date: each block run's moves, attempts (with their
 * timings and errors) and log lines, stored under the attempt that printed them. Log lines are
 * written in batches (every 250 ms, and before an attempt is told finished). The run row's own
 * status stays the host's to set unless `finishRun` (a worker knows why a run stopped). Returns a
 * function that stops the batching, writes what is left, and rejects if a write failed.
 */
export function recordRunInStore(hooks: RunLifecycleHooks, store: Store, options: RecordOptions = {}): () => Promise<void> {
  const clock = options.clock ?? systemClock;
  const target = options.detached ? new RunLifecycleHooks() : hooks;
  const prepared = options.prepare;
  if (prepared) {
    // Seen by the first handler of the first event, so nothing is written before the run's row.
    prepared.catch(() => undefined);
    target.onAny(() => prepared);
  }
  if (options.detached) {
    const fenced = options.fenced;
    hooks.onAny((e) => {
      if (!fenced?.()) target.post(e);
    });
  }
  const attemptOf = new Map<string, number>();
  const rowCountOf = new Map<string, number>();
  const errorOf = new Map<string, BlockError>();
  /** `queued` moves without anything else to say, held to be written together. */
  const queuedBatch: RunEventOf<'block_status'>[] = [];
  const writeQueued = async () => {
    const first = queuedBatch[0];
    if (!first) return;
    const blocks = queuedBatch.splice(0, queuedBatch.length).map((q) => q.block);
    await store.blockRuns.setStatusMany(first.runId, blocks, 'queued', new Date(first.at));
  };
  /** Blocks whose last move was `failed`, named in a failed run's message. */
  const failedBlocks = new Set<string>();
  /** Attempts told finished whose block has not moved yet: both are written together. */
  const finishedAttempt = new Map<string, RunEventOf<'attempt_finished'>>();
  const buffer: LogLine[] = [];
  const flush = async () => {
    const lines = buffer.splice(0, buffer.length);
    // Logs are worth less than the run itself: a failed batch does not fail the run.
    await store.logs.append(lines).catch(() => undefined);
  };
  const log = (runId: string, block: string, stream: string, text: string) => {
    const attempt = attemptOf.get(block) ?? 0;
    for (const line of text.replace(/\n$/, '').split('\n')) buffer.push({ runId, block, attempt, at: clock.now(), stream, text: line });
  };
  const timer = setInterval(() => void flush(), 250);
  timer.unref();

  if (options.finishRun) {
    target.on('run_status', async (e) => {
      if (e.status === 'running' || e.status === 'initial') return;
      await writeQueued();
      await flush();
      const failed = [...failedBlocks].filter((b) => e.blocks.includes(b));
      await store.runs.setStatus(e.runId, e.status, clock.now(), e.status === 'failed' ? `failed: ${failed.join(', ') || 'blocks could not run'}` : e.status === 'cancelled' ? 'cancelled' : undefined);
    });
  }
  target
    .on('block_runs_added', async (e) => {
      await writeQueued();
      await store.blockRuns.add(e.runId, e.blocks.map((b) => b.name));
    })
    .on('callback', (e) => {
      if (e.error) log(e.runId, e.block, 'system', `callback ${e.callback}.${e.hook} failed: ${e.error.message}`);
    })
    .on('log', (e) => log(e.runId, e.block, e.stream, e.text))
    .on('output', (e) => {
      rowCountOf.set(e.block, e.preview.rowCount);
    })
    .on('block_error', (e) => {
      errorOf.set(e.block, e.error);
    })
    .on('attempt_finished', async (e) => {
      if (e.status !== 'completed' && e.error) log(e.runId, e.block, 'system', `attempt ${e.attempt} ${e.lost || e.status === 'cancelled' ? 'stopped' : 'failed'}: ${e.error.message}`);
      await flush();
      // A lost attempt (the host is stopping) is followed by no move of its block: record it now.
      if (e.lost) await store.blockRuns.loseAttempt(e.runId, e.block, endOf(e));
      else finishedAttempt.set(e.block, e);
    })
    .on('block_status', async (e) => {
      const at = new Date(e.at);
      // A run's blocks are queued one event each at its start: written as one move, not dozens.
      if (e.status === 'queued' && e.attempt === undefined && e.message === undefined && !finishedAttempt.has(e.block)) {
        if (queuedBatch[0] && queuedBatch[0].runId !== e.runId) await writeQueued();
        queuedBatch.push(e);
        return;
      }
      await writeQueued();
      if (e.status === 'running' && e.attempt !== undefined) {
        attemptOf.set(e.block, e.attempt);
        await store.blockRuns.startAttempt(e.runId, e.block, e.attempt, at);
        return;
      }
      if (e.status === 'failed') failedBlocks.add(e.block);
      else failedBlocks.delete(e.block);
      const error = e.status === 'failed' || e.status === 'cancelled' ? errorOf.get(e.block) : undefined;
      if (e.status !== 'failed' && e.status !== 'cancelled') errorOf.delete(e.block);
      const extra = {
        ...(e.attempt === undefined ? {} : { attempt: e.attempt }),
        ...(e.message === undefined ? {} : { message: e.message }),
        ...(error ? { error: errorJson(error) } : {}),
        ...(e.status === 'completed' && rowCountOf.has(e.block) ? { rowCount: rowCountOf.get(e.block) } : {}),
        ...(e.cached ? { cached: true } : {}),
      };
      const attempt = finishedAttempt.get(e.block);
      finishedAttempt.delete(e.block);
      if (!attempt) {
        await store.blockRuns.setStatus(e.runId, e.block, e.status, at, extra);
        return;
      }
      // The attempt's end and the block's move in one statement: a crash between them would
      // leave a completed attempt under a block still running, and the block would run twice.
      await store.blockRuns.finishAttempt(e.runId, e.block, endOf(attempt), { status: e.status, at, extra });
    });
  return async () => {
    clearInterval(timer);
    await hooks.settled();
    try {
      await target.drain();
      await writeQueued();
    } finally {
      await flush();
    }
  };
}
