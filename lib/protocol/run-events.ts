/**
 * The events of a run, declared once. The kernel sends `log` and `block_progress` over IPC, the run
 * engine hands every event to its host's lifecycle hooks, and the editor forwards them on the wire
 * with the pipeline they belong to (messages.ts). Stored or shown strings (statuses) are Mage's and
 * never change meaning.
 */
import { z } from 'zod';
import { BLOCK_RUN_STATUSES, PIPELINE_RUN_STATUSES } from '../run/states';
import { jsonValue } from './json';

/** A block-run name: a block's uuid, or `<uuid>:<key>[:<key>...]` for a dynamic block's child. */
const name = z.string().min(1).max(500);

export const columnSchema = z.object({ name: z.string(), type: z.string() });

/** A block output as the browser sees it: types, the first rows, and the total count. */
export const outputPreviewSchema = z.object({
  columns: z.array(columnSchema),
  rows: z.array(z.record(z.string(), jsonValue)),
  rowCount: z.number().int().nonnegative(),
});
export type OutputPreview = z.infer<typeof outputPreviewSchema>;

/** `destination`: the block ran, and writing its output to its configured destination failed. */
export const BLOCK_ERROR_KINDS = ['exception', 'sql', 'template', 'test', 'missing_upstream', 'kernel_died', 'interrupted', 'invalid_block', 'destination'] as const;
export const blockErrorSchema = z.object({
  kind: z.enum(BLOCK_ERROR_KINDS),
  message: z.string(),
  /** Project-relative block file and 1-based line/column, when the error points into it. */
  file: z.string().optional(),
  line: z.number().int().positive().optional(),
  column: z.number().int().positive().optional(),
  stack: z.string().optional(),
});
export type BlockError = z.infer<typeof blockErrorSchema>;

export const blockRunStatusSchema = z.enum(BLOCK_RUN_STATUSES);
export const pipelineRunStatusSchema = z.enum(PIPELINE_RUN_STATUSES);

/**
 * What a running block is doing, as far as the kernel knows it. `rows` is an exact count (rows
 * streamed through COPY, rows of a materialised output), never an estimate; `percent` is DuckDB's
 * own progress of the statement running now; `bytes` is a download so far.
 */
export const PROGRESS_PHASES = ['download', 'query', 'output', 'postgres_load', 'postgres_export', 'parquet_export', 'sensor_wait'] as const;
export const blockProgressSchema = z.object({
  phase: z.enum(PROGRESS_PHASES),
  rows: z.number().int().nonnegative().optional(),
  /** Rows the phase will handle in all, when known up front (e.g. an export of a table). */
  total: z.number().int().nonnegative().optional(),
  percent: z.number().min(0).max(100).optional(),
  bytes: z.number().int().nonnegative().optional(),
  /** A sensor waiting (`sensor_wait`): pokes so far, and milliseconds until the next one. */
  poke: z.number().int().positive().optional(),
  nextInMs: z.number().int().nonnegative().optional(),
});
export type BlockProgress = z.infer<typeof blockProgressSchema>;

/** The run started (`running`, with the planned blocks in order) or finished (its final status). */
export const runStatusEvent = z.object({
  type: z.literal('run_status'),
  runId: z.string(),
  status: pipelineRunStatusSchema,
  blocks: z.array(name),
});

/**
 * A block run moved. `running` carries the attempt that starts (1-based); `failed`/`cancelled`
 * the error; `queued` after a failure says when the retry comes in `message`.
 */
export const blockStatusEvent = z.object({
  type: z.literal('block_status'),
  runId: z.string(),
  block: name,
  status: blockRunStatusSchema,
  /** ISO time of the move. */
  at: z.string(),
  /** Milliseconds the attempt that just ended took. */
  durationMs: z.number().optional(),
  attempt: z.number().int().positive().optional(),
  message: z.string().optional(),
  /** `completed` by reusing the block's cached output (configuration.cache): the block did not run. */
  cached: z.boolean().optional(),
});

/** A line (or lines) a block printed. */
export const logEvent = z.object({
  type: z.literal('log'),
  runId: z.string(),
  block: name,
  stream: z.enum(['stdout', 'stderr']),
  text: z.string(),
});

/** Live progress of a running block, at most every 250 ms per block. */
export const blockProgressEvent = z.object({ type: z.literal('block_progress'), runId: z.string(), block: name, progress: blockProgressSchema });

/** A block's output (its preview), sent before the block's `completed`. */
export const outputEvent = z.object({ type: z.literal('output'), runId: z.string(), block: name, preview: outputPreviewSchema });

/** Why a block's attempt failed, sent before its `failed`/`cancelled` or its retry. */
export const blockErrorEvent = z.object({ type: z.literal('block_error'), runId: z.string(), block: name, error: blockErrorSchema });

/**
 * One attempt of a block ended. `lost`: the host stopped (a worker shutting down), so the attempt
 * does not count and the run resumes elsewhere; `retryInMs`: a retry follows after that wait.
 */
export const attemptFinishedEvent = z.object({
  type: z.literal('attempt_finished'),
  runId: z.string(),
  block: name,
  attempt: z.number().int().positive(),
  status: z.enum(['completed', 'failed', 'cancelled']),
  at: z.string(),
  durationMs: z.number(),
  error: blockErrorSchema.optional(),
  retryInMs: z.number().int().nonnegative().optional(),
  lost: z.boolean().optional(),
});

/**
 * A dynamic block run completed and fanned out: these block runs (its downstream blocks' children,
 * `<uuid>:<key>`) join the run, in order. `parent` is the dynamic block run whose items made them.
 */
export const blockRunsAddedEvent = z.object({
  type: z.literal('block_runs_added'),
  runId: z.string(),
  parent: name,
  blocks: z.array(z.object({ name, block: name })),
});

export const CALLBACK_HOOK_NAMES = ['onSuccess', 'onFailure', 'onCancelled'] as const;

/** A callback attached to a block ran after the block run ended; `error` when it threw (the block's status stands). */
export const callbackEvent = z.object({
  type: z.literal('callback'),
  runId: z.string(),
  block: name,
  callback: name,
  hook: z.enum(CALLBACK_HOOK_NAMES),
  at: z.string(),
  error: blockErrorSchema.optional(),
});

export const runEventSchema = z.discriminatedUnion('type', [
  blockRunsAddedEvent,
  callbackEvent,
  runStatusEvent,
  blockStatusEvent,
  logEvent,
  blockProgressEvent,
  outputEvent,
  blockErrorEvent,
  attemptFinishedEvent,
]);
export type RunEvent = z.infer<typeof runEventSchema>;
export type RunEventType = RunEvent['type'];
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;
