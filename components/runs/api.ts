import { z } from 'zod';
import { fetchJson } from '@/components/shared/fetch-json';
import { jsonValue } from '@/lib/protocol/json';
import { BLOCK_RUN_STATUSES, PIPELINE_RUN_STATUSES } from '@/lib/run/states';

/** What the triggers and runs pages read from the HTTP API, validated on arrival (dates as ISO strings). */

const json = z.record(z.string(), jsonValue);
const when = z.string();

export const runSummarySchema = z.object({
  id: z.string(),
  project: z.string(),
  pipeline: z.string(),
  trigger_id: z.string().nullable(),
  backfill_id: z.string().nullable(),
  kind: z.string(),
  execution_date: when,
  status: z.enum(PIPELINE_RUN_STATUSES),
  variables: json,
  attempt: z.number(),
  error: z.string().nullable(),
  created_at: when,
  started_at: when.nullable(),
  completed_at: when.nullable(),
  trigger_name: z.string().nullable().optional(),
  /** Who started it, as shown (lib/runs/started-by.ts); null for a schedule or a backfill. */
  started_by_name: z.string().nullable().optional(),
  sla_missed: z.boolean().optional(),
});
/** A RunSummary (lib/scheduler/service.ts) as the runs list receives it. */
export type RunSummaryJson = z.infer<typeof runSummarySchema>;

/** A block run as GET /api/runs/<id> and /children give it (lib/runs/block-run-views.ts BlockRunView). */
export const blockRunViewSchema = z.object({
  block_uuid: z.string(),
  status: z.enum(BLOCK_RUN_STATUSES),
  attempts: z.number(),
  started_at: when.nullable(),
  completed_at: when.nullable(),
  row_count: z.number().nullable(),
  error: z.record(z.string(), z.unknown()).nullable(),
  cached: z.boolean().default(false),
  message: z.string().nullable().default(null),
  children: z.object({ total: z.number(), statuses: z.partialRecord(z.enum(BLOCK_RUN_STATUSES), z.number()) }).nullable().default(null),
  last_poke: z.object({ poke: z.number(), satisfied: z.boolean(), next_in_s: z.number().nullable(), at: when }).nullable().default(null),
  callback_failures: z.array(z.object({ callback: z.string(), hook: z.string(), message: z.string(), at: when })).default([]),
});
export type BlockRunViewJson = z.infer<typeof blockRunViewSchema>;

const attemptSchema = z.object({
  block_uuid: z.string(),
  attempt: z.number(),
  status: z.string(),
  started_at: when,
  finished_at: when.nullable(),
  duration_ms: z.number().nullable(),
  error: z.record(z.string(), z.unknown()).nullable(),
});
export type AttemptJson = z.infer<typeof attemptSchema>;

const transitionSchema = z.object({ id: z.number(), block_uuid: z.string().nullable(), status: z.string(), attempt: z.number().nullable(), at: when, message: z.string().nullable() });
export type TransitionJson = z.infer<typeof transitionSchema>;

export const runReportSchema = z.object({
  run: runSummarySchema,
  trigger_name: z.string().nullable(),
  started_by_name: z.string().nullable(),
  sla_missed: z.boolean(),
  waiting_for: z.string().nullable().optional(),
  blocks: z.array(blockRunViewSchema),
  attempts: z.array(attemptSchema),
  events: z.array(transitionSchema),
  graph: z.array(z.object({ uuid: z.string(), type: z.string().optional(), upstream: z.array(z.string()) })),
});
/** A RunReport (lib/scheduler/run-report.ts) as the run page receives it. */
export type RunReportJson = z.infer<typeof runReportSchema>;

/** GET /api/runs/<id>/children: one page of a dynamic block's children. */
export const childPageSchema = z.object({
  block: z.string(),
  total: z.number(),
  offset: z.number(),
  limit: z.number(),
  children: z.array(blockRunViewSchema),
  attempts: z.array(attemptSchema),
  events: z.array(transitionSchema),
});
export type ChildPageJson = z.infer<typeof childPageSchema>;

/** GET /api/runs/<id>/code (lib/runs/run-code.ts RunCode): each pinned file beside the file now. */
export const runCodeSchema = z.object({
  files: z.array(z.object({ path: z.string(), hash: z.string(), content: z.string(), current: z.string().nullable(), current_version: z.string() })),
  blocks: z.record(z.string(), z.string()),
});
export type RunCodeJson = z.infer<typeof runCodeSchema>;
export type PinnedFileJson = RunCodeJson['files'][number];

export const logsSchema = z.object({
  logs: z.array(z.object({ id: z.number(), block_uuid: z.string(), attempt: z.number(), at: when, stream: z.string(), text: z.string() })),
});
export type LogLine = z.infer<typeof logsSchema>['logs'][number];

export const triggerReportSchema = z.object({
  name: z.string(),
  schedule_type: z.enum(['time', 'api']),
  schedule_interval: z.string().nullable(),
  start_time: when.nullable(),
  timezone: z.string(),
  status: z.enum(['active', 'inactive']),
  variables: json,
  settings: z.object({ skip_if_previous_running: z.boolean(), catch_up: z.enum(['none', 'latest', 'all']), run_limit: z.number().nullable(), timeout: z.number().nullable(), create_initial_pipeline_run: z.boolean().nullable() }),
  sla: z.number().nullable(),
  has_token: z.boolean(),
  next_run_at: when.nullable(),
  done: z.boolean(),
  explanation: z.array(z.string()),
  definition_error: z.string().nullable(),
  recent_events: z.array(z.object({ at: when, execution_date: when.nullable(), decision: z.string(), message: z.string(), run_id: z.string().nullable() })),
});
/** A TriggerReport (lib/scheduler/service.ts) as the triggers page receives it. */
export type TriggerReportJson = z.infer<typeof triggerReportSchema>;

export const triggerListSchema = z.object({ triggers: z.array(triggerReportSchema), file_error: z.string().nullable() });

export const backfillListSchema = z.object({
  backfills: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      start_datetime: when,
      end_datetime: when,
      interval_unit: z.string(),
      interval_value: z.number(),
      concurrency: z.number(),
      status: z.string(),
      progress: z.record(z.string(), z.number()),
    }),
  ),
});

/** Runs, triggers and logs share the browser's one HTTP helper. */
export const call = fetchJson;

export const FINISHED_RUN = new Set(['completed', 'failed', 'cancelled']);

export function formatWhen(iso: string | null): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
