/**
 * GET /api/workers: the processes that drive runs (the `workers` table, migration 6) as the
 * workers page shows them. Declared once: the server builds this shape
 * (lib/store/worker-page-reads.ts) and the page validates what arrives with the same schema.
 */
import { z } from 'zod';
import { WORKER_KINDS, WORKER_STATUSES } from '../store/types';

/** The query: how many stopped or lost processes to list, newest first (every live one is listed). */
export const workersQuerySchema = z.object({
  ended: z.coerce.number().int().min(0).max(500).default(50),
});
export type WorkersQuery = z.infer<typeof workersQuerySchema>;

/**
 * The state the page shows: the stored status, except that an alive or draining process silent for
 * longer than the lost timeout is `late`. It may be dead, but nobody has marked it lost yet
 * (another worker does that on its next recovery tick, once the process's liveness lock is free).
 */
export const SHOWN_WORKER_STATES = [...WORKER_STATUSES, 'late'] as const;
export type ShownWorkerState = (typeof SHOWN_WORKER_STATES)[number];

/** Dates travel as ISO strings. */
const when = z.string();

/** A run the process drives now: `running` with its worker_id. */
export const workerRunSchema = z.object({
  runId: z.string(),
  project: z.string(),
  pipeline: z.string(),
  startedAt: when.nullable(),
});
export type WorkerRunJson = z.infer<typeof workerRunSchema>;

/**
 * One process. The stored row's fields keep their column names (snake_case, like the runs API's
 * rows); the fields the page derives are camelCase.
 */
export const workerViewSchema = z.object({
  id: z.string(),
  kind: z.enum(WORKER_KINDS),
  host: z.string(),
  pid: z.number().int(),
  version: z.string(),
  queues: z.array(z.string()),
  concurrency: z.number().int(),
  status: z.enum(WORKER_STATUSES),
  started_at: when,
  heartbeat_at: when,
  stopped_at: when.nullable(),
  /** Resident memory in bytes at the last heartbeat. */
  memory_rss: z.number(),
  runs_completed: z.number().int(),
  runs_failed: z.number().int(),
  /** Runs handed to other workers when this process was found lost. */
  moved_runs: z.array(z.string()),
  /** What it runs now, oldest start first. */
  running: z.array(workerRunSchema),
  /** Seconds since its last heartbeat, in the database's clock (never below 0). */
  silentSeconds: z.number(),
  /** See SHOWN_WORKER_STATES. */
  shownStatus: z.enum(SHOWN_WORKER_STATES),
});
export type WorkerViewJson = z.infer<typeof workerViewSchema>;

export const workersResponseSchema = z.object({
  /** Alive first, then draining, then late; then stopped and lost ones, the most recently ended first. */
  workers: z.array(workerViewSchema),
  /** Stopped or lost processes older than the ones listed (the query's `ended` caps them). */
  endedNotShown: z.number().int(),
  /** The silence, in seconds, after which an alive process is shown as late (GRIMOIRE_LOST_AFTER_SECONDS). */
  lostAfterSeconds: z.number(),
  /** How often processes heartbeat, in milliseconds (GRIMOIRE_HEARTBEAT_MS). */
  heartbeatMs: z.number(),
});
export type WorkersResponse = z.infer<typeof workersResponseSchema>;
