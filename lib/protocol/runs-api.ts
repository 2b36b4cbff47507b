/** HTTP bodies of the triggers, runs and backfills API (validated at the edge with zod). */
import { z } from 'zod';
import { IDENTIFIER_PATTERN } from '../pipeline/model';
import { CATCH_UP_POLICIES } from '../pipeline/triggers';
import { BLOCK_RUN_STATUSES, PIPELINE_RUN_STATUSES } from '../run/states';
import { RUN_KINDS } from '../store/types';
import { variablesSchema } from './json';

/** POST .../triggers/<trigger>/runs (CONTRACTS.md): variables are optional. */
export const apiRunBodySchema = z.object({ variables: variablesSchema.optional() }).strict();

const settingsSchema = z
  .object({
    skip_if_previous_running: z.boolean().optional(),
    catch_up: z.enum(CATCH_UP_POLICIES).optional(),
    run_limit: z.number().int().positive().nullable().optional(),
    timeout: z.number().int().positive().nullable().optional(),
    // Mage's key: false skips an execution already past when the trigger appears; null lets catch_up decide.
    create_initial_pipeline_run: z.boolean().nullable().optional(),
  })
  .strict();

const triggerFields = {
  schedule_type: z.enum(['time', 'api']).optional(),
  schedule_interval: z.string().min(1).max(200).nullable().optional(),
  start_time: z.string().max(40).nullable().optional(),
  timezone: z.string().min(1).max(64).optional(),
  status: z.enum(['active', 'inactive']).optional(),
  variables: variablesSchema.optional(),
  settings: settingsSchema.optional(),
  sla: z.number().positive().nullable().optional(),
};

export const createTriggerSchema = z
  .object({
    name: z.string().regex(IDENTIFIER_PATTERN, 'letters, digits and _, not starting with a digit').max(100),
    ...triggerFields,
    schedule_type: z.enum(['time', 'api']),
  })
  .strict()
  .refine((t) => t.schedule_type === 'api' || t.settings?.catch_up !== undefined, {
    message: 'choose a catch-up policy (none, latest or all) for a time trigger',
    path: ['settings', 'catch_up'],
  });

/** Only the fields sent are changed (pausing sends only status). */
export const updateTriggerSchema = z.object(triggerFields).strict();

export const runListQuerySchema = z.object({
  project: z.string().optional(),
  pipeline: z.string().optional(),
  trigger: z.string().optional(),
  status: z.enum(PIPELINE_RUN_STATUSES).optional(),
  /** Any run kind: the trigger kinds, backfill, and the runs of the editor and `grimoire run`. */
  kind: z.enum(RUN_KINDS).optional(),
  backfill: z.string().optional(),
  limit: z.coerce.number().int().positive().max(1000).optional(),
});

/**
 * GET /api/runs/<id>: `children=all` (the default) lists every block run, a dynamic block's
 * children too; `children=summary` lists the run's own block runs with their children counted by
 * status (the run page, which reads the children a page at a time).
 */
export const runReportQuerySchema = z.object({ children: z.enum(['all', 'summary']).default('all') });

/** Children of one block per page at most: a run of 1,000 children is read in pages. */
export const CHILD_PAGE_MAX = 200;

/** GET /api/runs/<id>/children: one page of block `block`'s children, of one status when given. */
export const runChildrenQuerySchema = z.object({
  block: z.string().regex(IDENTIFIER_PATTERN, 'a block uuid').max(200),
  offset: z.coerce.number().int().nonnegative().max(10_000_000).default(0),
  limit: z.coerce.number().int().positive().max(CHILD_PAGE_MAX).default(50),
  status: z.enum(BLOCK_RUN_STATUSES).optional(),
});

/**
 * POST /api/runs/<id>/code/restore: the pinned file to write back, and optionally the version of
 * the file the page showed (current_version), so a file changed since is not overwritten (409).
 */
export const restoreRunCodeSchema = z.object({ path: z.string().min(1).max(1000), version: z.string().min(1).max(100).optional() }).strict();

export const runActionSchema = z.object({ action: z.enum(['cancel', 'retry']) }).strict();

export const INTERVAL_UNITS = ['minute', 'hour', 'day', 'week', 'month'] as const;
export const createBackfillSchema = z
  .object({
    name: z.string().min(1).max(100),
    start_datetime: z.string().min(1),
    end_datetime: z.string().min(1),
    interval_unit: z.enum(INTERVAL_UNITS),
    interval_value: z.number().int().positive().max(10_000).default(1),
    concurrency: z.number().int().positive().max(50).default(2),
    variables: variablesSchema.optional(),
  })
  .strict();
