import { z } from 'zod';
import { jsonValue } from '../protocol/json';
import { BLOCK_RUN_STATUSES, PIPELINE_RUN_STATUSES } from '../run/states';

/** Rows as they come out of Postgres, validated (outside data) into typed records. */

const json = z.record(z.string(), jsonValue);
const date = z.date();
const dateOrNull = z.date().nullable();
/** bigserial and bigint arrive as strings from pg. */
const bigint = z.union([z.string(), z.number()]).transform((v) => Number(v));

/**
 * Who made a run: `scheduled` (a time trigger), `api` (an API trigger), `manual` (Run now on the
 * triggers page), `backfill`, `editor` (run in the notebook), `cli` (`grimoire run`). Stored.
 */
// `pipeline`: started by a block of another run (ctx.runs.trigger, Mage's trigger-pipeline block).
export const RUN_KINDS = ['scheduled', 'api', 'manual', 'backfill', 'editor', 'cli', 'pipeline'] as const;
/** Kinds whose runs are driven by the process that started them, never by a worker. */
export const LIVE_RUN_KINDS: readonly RunKind[] = ['editor', 'cli'];
export type RunKind = (typeof RUN_KINDS)[number];

export const TRIGGER_DECISIONS = ['fired', 'skipped_catch_up', 'skipped_previous_running', 'invalid'] as const;
export type TriggerDecision = (typeof TRIGGER_DECISIONS)[number];

export const triggerSettingsRow = z.object({
  skip_if_previous_running: z.boolean().default(false),
  catch_up: z.enum(['none', 'latest', 'all']).default('latest'),
  run_limit: z.number().int().positive().nullable().default(null),
  timeout: z.number().int().positive().nullable().default(null),
  create_initial_pipeline_run: z.boolean().nullable().default(null),
});

export const triggerRow = z.object({
  id: z.string(),
  project: z.string(),
  pipeline: z.string(),
  name: z.string(),
  schedule_type: z.enum(['time', 'api']),
  schedule_interval: z.string().nullable(),
  start_time: dateOrNull,
  timezone: z.string(),
  status: z.enum(['active', 'inactive']),
  variables: json,
  settings: triggerSettingsRow,
  sla_seconds: z.number().nullable(),
  token_hash: z.string().nullable(),
  token_created_at: dateOrNull,
  in_file: z.boolean(),
  definition_error: z.string().nullable(),
  first_active_at: dateOrNull,
  cursor_execution_date: dateOrNull,
  next_check_at: dateOrNull,
  created_at: date,
  updated_at: date,
});
export type TriggerRow = z.infer<typeof triggerRow>;

export const runRow = z.object({
  id: z.string(),
  project: z.string(),
  pipeline: z.string(),
  trigger_id: z.string().nullable(),
  backfill_id: z.string().nullable(),
  kind: z.enum(RUN_KINDS),
  execution_date: date,
  status: z.enum(PIPELINE_RUN_STATUSES),
  variables: json,
  attempt: z.number().int(),
  not_before: date,
  worker_id: z.string().nullable(),
  cancel_requested: z.boolean(),
  timeout_seconds: z.number().int().nullable(),
  error: z.string().nullable(),
  created_at: date,
  started_at: dateOrNull,
  completed_at: dateOrNull,
  /** A user id, `cli:<os user>`, or null (a schedule, or a run from before migration 4). */
  started_by: z.string().nullable().default(null),
  /** The queue whose workers may run it (executor_config.queue), 'default' unless set (migration 6). */
  queue: z.string().default('default'),
});
export type RunRow = z.infer<typeof runRow>;

/** What kind of process a `workers` row is: each drives runs and heartbeats. */
export const WORKER_KINDS = ['worker', 'server', 'cli'] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];
/** Stored strings: `draining` stops taking runs; `lost` was found dead by another process. */
export const WORKER_STATUSES = ['alive', 'draining', 'stopped', 'lost'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

/** A process that drives runs, as its heartbeats keep it (migration 6). */
export const workerRow = z.object({
  id: z.string(),
  kind: z.enum(WORKER_KINDS),
  host: z.string(),
  pid: z.number().int(),
  version: z.string(),
  queues: z.array(z.string()),
  concurrency: z.number().int(),
  status: z.enum(WORKER_STATUSES),
  started_at: date,
  heartbeat_at: date,
  stopped_at: dateOrNull,
  /** Bytes. */
  memory_rss: bigint,
  runs_completed: z.number().int(),
  runs_failed: z.number().int(),
  moved_runs: z.array(z.string()),
});
export type WorkerRow = z.infer<typeof workerRow>;

export const blockRunRow = z.object({
  id: bigint,
  run_id: z.string(),
  block_uuid: z.string(),
  position: z.number().int(),
  status: z.enum(BLOCK_RUN_STATUSES),
  attempts: z.number().int(),
  attempt_base: z.number().int(),
  started_at: dateOrNull,
  completed_at: dateOrNull,
  row_count: bigint.nullable(),
  error: z.record(z.string(), z.unknown()).nullable(),
  /** It reused its block's cached output (configuration.cache) instead of running. */
  cached: z.boolean().default(false),
});
export type BlockRunRow = z.infer<typeof blockRunRow>;

export const attemptRow = z.object({
  id: bigint,
  block_run_id: bigint,
  block_uuid: z.string(),
  attempt: z.number().int(),
  status: z.string(),
  started_at: date,
  finished_at: dateOrNull,
  duration_ms: z.number().nullable(),
  error: z.record(z.string(), z.unknown()).nullable(),
});
export type AttemptRow = z.infer<typeof attemptRow>;

export const runEventRow = z.object({
  id: bigint,
  run_id: z.string(),
  block_uuid: z.string().nullable(),
  status: z.string(),
  attempt: z.number().int().nullable(),
  at: date,
  message: z.string().nullable(),
});
export type RunEventRow = z.infer<typeof runEventRow>;

export const logRow = z.object({
  id: bigint,
  run_id: z.string(),
  block_uuid: z.string(),
  attempt: z.number().int(),
  at: date,
  stream: z.string(),
  text: z.string(),
});
export type LogRow = z.infer<typeof logRow>;

export const triggerEventRow = z.object({
  id: bigint,
  trigger_id: z.string(),
  at: date,
  execution_date: dateOrNull,
  decision: z.enum(TRIGGER_DECISIONS),
  run_id: z.string().nullable(),
  message: z.string(),
});
export type TriggerEventRow = z.infer<typeof triggerEventRow>;

export const backfillRow = z.object({
  id: z.string(),
  project: z.string(),
  pipeline: z.string(),
  name: z.string(),
  start_datetime: date,
  end_datetime: date,
  interval_unit: z.enum(['minute', 'hour', 'day', 'week', 'month']),
  interval_value: z.number().int(),
  concurrency: z.number().int(),
  variables: json,
  status: z.enum(['running', 'completed', 'failed', 'cancelled']),
  created_at: date,
  completed_at: dateOrNull,
});
export type BackfillRow = z.infer<typeof backfillRow>;

export function rows<S extends z.ZodType>(schema: S, raw: readonly unknown[]): z.infer<S>[] {
  return raw.map((r) => schema.parse(r));
}

export const runCodeRow = z.object({ path: z.string(), hash: z.string(), content: z.string() });
export type RunCodeRow = z.infer<typeof runCodeRow>;
