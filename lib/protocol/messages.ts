/**
 * The wire protocol: every socket.io message between browser and server, as zod schemas with the
 * TypeScript types inferred from them. Both sides validate on arrival and handle the unions in one
 * exhaustive switch each. Stored or shown strings (statuses) are Mage's and never change meaning.
 */
import { z } from 'zod';
import { FOLDER_NAME_PATTERN, IDENTIFIER_PATTERN } from '../pipeline/model';
import { BLOCK_RUN_STATUSES, PIPELINE_RUN_STATUSES } from '../run/states';
import { outputAnswerSchema, outputQuerySchema } from './output-query';

const name = z.string().min(1).max(200);

export const jsonValue: z.ZodType<import('../pipeline/model').JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);
export const variablesSchema = z.record(z.string(), jsonValue);

export const columnSchema = z.object({ name: z.string(), type: z.string() });

/** A block output as the browser sees it: types, the first rows, and the total count. */
export const outputPreviewSchema = z.object({
  columns: z.array(columnSchema),
  rows: z.array(z.record(z.string(), jsonValue)),
  rowCount: z.number().int().nonnegative(),
});
export type OutputPreview = z.infer<typeof outputPreviewSchema>;

export const blockErrorSchema = z.object({
  kind: z.enum(['exception', 'sql', 'template', 'test', 'missing_upstream', 'kernel_died', 'interrupted', 'invalid_block']),
  message: z.string(),
  /** Project-relative block file and 1-based line/column, when the error points into it. */
  file: z.string().optional(),
  line: z.number().int().positive().optional(),
  column: z.number().int().positive().optional(),
  stack: z.string().optional(),
});
export type BlockError = z.infer<typeof blockErrorSchema>;

export const blockRunStatusSchema = z.enum(BLOCK_RUN_STATUSES);

// ---- live progress of a running block (kernel -> server -> browser) --------------------------
/**
 * What a running block is doing, as far as the kernel knows it. `rows` is an exact count (rows
 * streamed through COPY, rows of a materialised output), never an estimate; `percent` is DuckDB's
 * own progress of the statement running now; `bytes` is a download so far.
 */
export const PROGRESS_PHASES = ['download', 'query', 'output', 'postgres_load', 'postgres_export', 'parquet_export'] as const;
export const blockProgressSchema = z.object({
  phase: z.enum(PROGRESS_PHASES),
  rows: z.number().int().nonnegative().optional(),
  /** Rows the phase will handle in all, when known up front (e.g. an export of a table). */
  total: z.number().int().nonnegative().optional(),
  percent: z.number().min(0).max(100).optional(),
  bytes: z.number().int().nonnegative().optional(),
});
export type BlockProgress = z.infer<typeof blockProgressSchema>;
export const pipelineRunStatusSchema = z.enum(PIPELINE_RUN_STATUSES);

const pipelineRef = { project: name, pipeline: name };

/**
 * What a browser may name: a project and a pipeline are folder names, a block a block uuid, so a
 * message can never carry a path (`../x`) to anything behind them.
 */
const folderName = z.string().min(1).max(100).regex(FOLDER_NAME_PATTERN, 'a project or pipeline name is letters, digits, _ . - (no slashes)');
const blockName = z.string().min(1).max(100).regex(IDENTIFIER_PATTERN, 'a block name is letters, digits and _');
const clientRef = { project: folderName, pipeline: folderName };

// ---- browser -> server -------------------------------------------------------------------------
export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), ...clientRef }),
  z.object({ type: z.literal('run_block'), ...clientRef, block: blockName, variables: variablesSchema.optional() }),
  z.object({ type: z.literal('run_with_upstream'), ...clientRef, block: blockName, variables: variablesSchema.optional() }),
  z.object({ type: z.literal('run_downstream'), ...clientRef, block: blockName, variables: variablesSchema.optional() }),
  z.object({ type: z.literal('run_pipeline'), ...clientRef, variables: variablesSchema.optional() }),
  z.object({ type: z.literal('interrupt'), ...clientRef }),
  z.object({ type: z.literal('restart'), ...clientRef }),
  /** A page or chart of a block's whole output; answered to the sender only, with its requestId. */
  z.object({ type: z.literal('query_output'), ...clientRef, block: blockName, requestId: z.string().min(1).max(100), query: outputQuerySchema }),
  /** Follow one stored run (run page), or the runs of a pipeline (runs list): answered by run_changed. */
  z.object({ type: z.literal('watch_run'), runId: name }),
  z.object({ type: z.literal('watch_runs'), ...clientRef }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

// ---- server -> browser -------------------------------------------------------------------------
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('run_status'),
    ...pipelineRef,
    runId: z.string(),
    status: pipelineRunStatusSchema,
    blocks: z.array(name),
  }),
  z.object({
    type: z.literal('block_status'),
    ...pipelineRef,
    runId: z.string(),
    block: name,
    status: blockRunStatusSchema,
    at: z.string(),
    durationMs: z.number().optional(),
  }),
  z.object({
    type: z.literal('log'),
    ...pipelineRef,
    runId: z.string(),
    block: name,
    stream: z.enum(['stdout', 'stderr']),
    text: z.string(),
  }),
  z.object({ type: z.literal('output'), ...pipelineRef, runId: z.string(), block: name, preview: outputPreviewSchema }),
  z.object({ type: z.literal('block_error'), ...pipelineRef, runId: z.string(), block: name, error: blockErrorSchema }),
  z.object({ type: z.literal('kernel_status'), ...pipelineRef, status: z.enum(['idle', 'busy', 'starting', 'dead']) }),
  z.object({
    type: z.literal('output_answer'),
    ...pipelineRef,
    block: name,
    requestId: z.string(),
    result: z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), answer: outputAnswerSchema }), z.object({ ok: z.literal(false), message: z.string() })]),
  }),
  /** metadata.yaml or a block file was saved (by any tab): the version lets a tab tell its own save from another's. */
  z.object({
    type: z.literal('pipeline_changed'),
    ...pipelineRef,
    version: z.string(),
    /** Blocks renamed by the change, so a tab moves its unsaved text to the new name instead of losing it. */
    renamed: z.array(z.object({ from: name, to: name })).optional(),
  }),
  z.object({ type: z.literal('file_changed'), ...pipelineRef, file: z.string(), version: z.string() }),
  /** Live progress of a running block, at most every 250 ms per block. */
  z.object({ type: z.literal('block_progress'), ...pipelineRef, runId: z.string(), block: name, progress: blockProgressSchema }),
  /**
   * A stored run changed (in any process): `state` when the run or a block run did (statuses,
   * attempts), `logs` when log lines were added. Watchers fetch only what changed.
   */
  z.object({ type: z.literal('run_changed'), runId: z.string(), state: z.boolean(), logs: z.boolean() }),
  /** A reply to a message that could not be accepted (malformed, unknown pipeline, ...). */
  z.object({ type: z.literal('error'), code: z.string(), message: z.string(), request: z.string().optional() }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** socket.io event names: one channel each way, the payload carries the discriminant. */
export const CLIENT_EVENT = 'client_message';
export const SERVER_EVENT = 'server_message';
