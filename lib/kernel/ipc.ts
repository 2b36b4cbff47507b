/** Messages between a kernel host and its child process. Validated on both ends like the wire protocol. */
import { LAZY_OUTPUTS } from '../run/lazy-outputs';
import { z } from 'zod';
import { BLOCK_LANGUAGES, BLOCK_TYPES } from '../pipeline/model';
import { variablesSchema } from '../protocol/json';
import { outputQuerySchema, outputResultSchema } from '../protocol/output-query';
import { blockErrorSchema, blockProgressEvent, CALLBACK_HOOK_NAMES, logEvent, outputPreviewSchema } from '../protocol/run-events';
import { runInputSchema } from '../protocol/run-inputs';
import { runsAnswerSchema, runsRequestSchema } from '../protocol/runs-request';

/** When a completed block's output must be in its Parquet file: see KernelHostOptions.outputCopies. */
export const OUTPUT_COPIES = ['wait', 'background'] as const;
export type OutputCopies = (typeof OUTPUT_COPIES)[number];

/**
 * What a standby kernel (started ahead of need, see standby.ts) is told when a host adopts it:
 * the settings a kernel otherwise gets in its environment at start.
 */
export const kernelInitSchema = z.object({
  type: z.literal('init'),
  settings: z.object({
    GRIMOIRE_PROJECT_DIR: z.string(),
    GRIMOIRE_DATA_DIR: z.string(),
    /** Empty: no output cache. */
    GRIMOIRE_CACHE_DIR: z.string(),
    GRIMOIRE_PIPELINE: z.string(),
    GRIMOIRE_OUTPUT_COPIES: z.enum(OUTPUT_COPIES),
  }),
});
export type KernelInit = z.infer<typeof kernelInitSchema>;
export type KernelSettings = KernelInit['settings'];

export const blockSpecSchema = z.object({
  uuid: z.string(),
  type: z.enum(BLOCK_TYPES),
  language: z.enum(BLOCK_LANGUAGES),
  /** Project-relative file path. */
  file: z.string(),
  upstream: z.array(z.string()),
  configuration: z.record(z.string(), z.unknown()),
});
export type BlockSpec = z.infer<typeof blockSpecSchema>;

/** A conditional or callback (pipeline.ts AddOnBlock) as the kernel needs it. */
export const addOnSpecSchema = z.object({ uuid: z.string(), kind: z.enum(['conditional', 'callback']), file: z.string() });

export type CallbackHook = (typeof CALLBACK_HOOK_NAMES)[number];

/**
 * What an execute asks of the block's code. `block` (the default): run it and publish its
 * output. `sensor`: call it once (a poke) and answer whether it is satisfied. `condition`: call
 * the conditional attached to the block with the block's arguments and answer its verdict.
 * `callback`: call the hook of a callback attached to the block, with how the block ended.
 */
export const executeRoleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('block') }),
  z.object({ kind: z.literal('sensor') }),
  z.object({ kind: z.literal('condition'), addOn: addOnSpecSchema }),
  z.object({
    kind: z.literal('callback'),
    addOn: addOnSpecSchema,
    hook: z.enum(CALLBACK_HOOK_NAMES),
    /** How the block run ended: completed, failed or cancelled. */
    status: z.string(),
    error: blockErrorSchema.optional(),
  }),
]);
export type ExecuteRole = z.infer<typeof executeRoleSchema>;

export const kernelCommandSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('execute'),
    runId: z.string(),
    /** The block run's name (`<uuid>`, or `<uuid>:<key>` for a dynamic child): its log lines and output go under it. */
    name: z.string(),
    block: blockSpecSchema,
    /** Where each of `block.upstream` is read from, in order; absent: each upstream's own output. */
    inputs: z.array(runInputSchema).optional(),
    role: executeRoleSchema,
    /**
     * The block is cached (configuration.cache): `use` reuses its saved output when the key matches
     * and it has not expired, `refresh` runs it anyway and saves the new output. `variables` are
     * the ones the key covers (the user's and the day, not the run's id).
     */
    cache: z.object({ mode: z.enum(['use', 'refresh']), variables: variablesSchema, expirationMs: z.number().positive().nullable() }).optional(),
    variables: variablesSchema,
    executionDate: z.string(),
    previewRows: z.number().int().nonnegative(),
    /** The output may stay a DuckDB view rather than a table (lib/run/lazy-outputs.ts); absent: a table. */
    lazyOutput: z.enum(LAZY_OUTPUTS).optional(),
    /** Defaults for the kernel's environment (POSTGRES_* of the workspace database); set variables win. */
    envDefaults: z.record(z.string(), z.string()).optional(),
    /**
     * The workspace's secrets by name, for mage_secret_var() and ctx.secrets. They travel with each
     * block rather than in the environment, so blocks cannot list them and edits apply at once.
     */
    secrets: z.record(z.string(), z.string()),
  }),
  z.object({ type: z.literal('interrupt') }),
  /** Outputs no block of this run will read again: dropped to free memory and disk. */
  z.object({ type: z.literal('release'), blocks: z.array(z.string()) }),
  /** A page or chart of a block's output, answered from DuckDB without touching running blocks. */
  z.object({ type: z.literal('query_output'), requestId: z.string(), block: z.string(), query: outputQuerySchema }),
  /** The answer to a block's `runs_request`. */
  z.object({ type: z.literal('runs_answer'), requestId: z.string(), answer: runsAnswerSchema }),
]);
export type KernelCommand = z.infer<typeof kernelCommandSchema>;

export const blockOutcomeSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('completed'),
    durationMs: z.number(),
    preview: outputPreviewSchema,
    /** A dynamic block's item keys, one per row of its output in order (index or metadata block_uuid). */
    items: z.array(z.string()).optional(),
    /** The output was the block's cached one, saved at this ISO time: the block did not run. */
    cachedAt: z.string().optional(),
  }),
  /** A sensor's poke, a conditional's verdict or a callback that ran (true). */
  z.object({ status: z.literal('answered'), durationMs: z.number(), value: z.boolean() }),
  z.object({ status: z.literal('failed'), durationMs: z.number(), error: blockErrorSchema }),
]);
export type BlockOutcome = z.infer<typeof blockOutcomeSchema>;

export const kernelEventSchema = z.discriminatedUnion('type', [
  /** A standby kernel loaded its modules and waits for its init. */
  z.object({ type: z.literal('standby') }),
  z.object({ type: z.literal('ready'), pid: z.number() }),
  logEvent,
  blockProgressEvent,
  z.object({ type: z.literal('block_done'), runId: z.string(), block: z.string(), outcome: blockOutcomeSchema }),
  z.object({ type: z.literal('output_answer'), requestId: z.string(), result: outputResultSchema }),
  /** A block asks about or starts pipeline runs (ctx.runs); `runId`/`pipeline`/`executionDate` say who asks. */
  z.object({ type: z.literal('runs_request'), requestId: z.string(), runId: z.string(), executionDate: z.string(), request: runsRequestSchema }),
]);
export type KernelEvent = z.infer<typeof kernelEventSchema>;
