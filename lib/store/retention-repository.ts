import type pg from 'pg';
import { z } from 'zod';
import { PIPELINE_RUN_STATUSES } from '../run/states';
import { type Db } from './db';
import { isRunFinished } from './state-columns';

/**
 * What retention reads and deletes in the store: per pipeline, how many runs and how many bytes of
 * log text a project holds, which finished runs and log lines are older than a cut-off, and their
 * deletion in short batches (never one long transaction: the job queue lives in the same database).
 * Log bytes are `octet_length` of the text (what the lines hold, not Postgres's row overhead).
 */

/** Statuses a run never leaves by itself: only these are ever swept. */
export const FINISHED_RUN_STATUSES = PIPELINE_RUN_STATUSES.filter(isRunFinished);

/**
 * A finished run that `runs_retention_period` removes: finished before $cut, and not part of a
 * backfill still running (its settling counts its runs' statuses, slots.ts). `r` is pipeline_runs.
 */
const FINISHED = `r.status = ANY('{${FINISHED_RUN_STATUSES.join(',')}}'::text[])`;
const FINISHED_BEFORE = (cut: string) => `${FINISHED} AND r.completed_at < ${cut}`;
const RUN_EXPIRED = (cut: string) => `${FINISHED_BEFORE(cut)} AND NOT EXISTS (SELECT 1 FROM backfills b WHERE b.id = r.backfill_id AND b.status = 'running')`;

const count = z.union([z.string(), z.number()]).transform((v) => Number(v));
const usageRow = z.object({ pipeline: z.string(), runs: count, lines: count, bytes: count });
const expiredRunRow = z.object({ id: z.string(), pipeline: z.string(), lines: count, bytes: count });
const runStateRow = z.object({ id: z.string(), project: z.string(), pipeline: z.string(), status: z.enum(PIPELINE_RUN_STATUSES), completed_at: z.date().nullable() });
const logsRow = z.object({ pipeline: z.string(), lines: count, bytes: count });

export type PipelineUsage = z.infer<typeof usageRow>;
/** A run the runs setting removes, with its log lines and their bytes. */
export type ExpiredRun = z.infer<typeof expiredRunRow>;
export type RunState = z.infer<typeof runStateRow>;
/** Log lines (and their bytes) of one pipeline. */
export type PipelineLogs = z.infer<typeof logsRow>;

/** Log lines deleted per statement: small enough that each one is short. */
const LOG_BATCH = 5000;

export class RetentionRepository {
  constructor(private readonly db: Db) {}

  /** Projects that have runs in the store (a project folder may be gone while its runs remain). */
  async projects(): Promise<string[]> {
    const res = await this.db.pool.query<{ project: string }>('SELECT DISTINCT project FROM pipeline_runs ORDER BY project');
    return res.rows.map((r) => r.project);
  }

  /** Per pipeline of `project`: runs, log lines and bytes of log text. */
  async usage(project: string): Promise<PipelineUsage[]> {
    const res = await this.db.pool.query(
      `SELECT r.pipeline, count(*) AS runs, coalesce(sum(l.lines), 0) AS lines, coalesce(sum(l.bytes), 0) AS bytes
         FROM pipeline_runs r
         LEFT JOIN LATERAL (SELECT count(*) AS lines, sum(octet_length(text)) AS bytes FROM run_logs WHERE run_id = r.id) l ON true
        WHERE r.project = $1 GROUP BY r.pipeline ORDER BY r.pipeline`,
      [project],
    );
    return res.rows.map((r) => usageRow.parse(r));
  }

  /** The runs named (those that exist), with their project, pipeline and status. */
  async states(ids: readonly string[]): Promise<RunState[]> {
    if (ids.length === 0) return [];
    const res = await this.db.pool.query('SELECT id, project, pipeline, status, completed_at FROM pipeline_runs WHERE id = ANY($1::text[])', [ids]);
    return res.rows.map((r) => runStateRow.parse(r));
  }

  /** Runs of `project` that `runs_retention_period` with cut-off `cut` removes, oldest first, with their logs' size. */
  async expiredRuns(project: string, cut: Date): Promise<ExpiredRun[]> {
    const res = await this.db.pool.query(
      `SELECT r.id, r.pipeline, coalesce(l.lines, 0) AS lines, coalesce(l.bytes, 0) AS bytes
         FROM pipeline_runs r
         LEFT JOIN LATERAL (SELECT count(*) AS lines, sum(octet_length(text)) AS bytes FROM run_logs WHERE run_id = r.id) l ON true
        WHERE r.project = $1 AND ${RUN_EXPIRED('$2')} ORDER BY r.completed_at, r.id`,
      [project, cut],
    );
    return res.rows.map((r) => expiredRunRow.parse(r));
  }

  /**
   * Per pipeline: log lines of `project`'s finished runs printed before `cut`, leaving out the runs
   * that the runs setting (cut-off `runsCut`, null: none) removes as a whole.
   */
  async expiredLogs(project: string, cut: Date, runsCut: Date | null): Promise<PipelineLogs[]> {
    const res = await this.db.pool.query(
      `SELECT r.pipeline, count(*) AS lines, coalesce(sum(octet_length(l.text)), 0) AS bytes
         FROM run_logs l JOIN pipeline_runs r ON r.id = l.run_id
        WHERE r.project = $1 AND ${FINISHED} AND l.at < $2
          AND NOT ($3::timestamptz IS NOT NULL AND ${RUN_EXPIRED('$3')})
        GROUP BY r.pipeline ORDER BY r.pipeline`,
      [project, cut, runsCut],
    );
    return res.rows.map((r) => logsRow.parse(r));
  }

  /**
   * Removes the runs named that are still expired at `cut` (each is re-checked under a row lock, so
   * a run retried meanwhile stays), with everything that cascades from them: block runs, attempts,
   * events, logs and pinned code lists. `beforeDelete` gets the runs locked, inside the transaction
   * (their output folders go there: nobody can retry a run whose row is locked). Returns the runs
   * deleted, with their logs' size.
   */
  async deleteRuns(ids: readonly string[], cut: Date, beforeDelete: (runs: ExpiredRun[]) => Promise<void>): Promise<ExpiredRun[]> {
    if (ids.length === 0) return [];
    return this.db.tx(async (c) => {
      const locked = await c.query(`SELECT r.id FROM pipeline_runs r WHERE r.id = ANY($1::text[]) AND ${RUN_EXPIRED('$2')} FOR UPDATE OF r`, [ids, cut]);
      const lockedIds = locked.rows.map((r) => z.string().parse(r.id));
      if (lockedIds.length === 0) return [];
      const res = await c.query(
        `SELECT r.id, r.pipeline, coalesce(l.lines, 0) AS lines, coalesce(l.bytes, 0) AS bytes
           FROM pipeline_runs r
           LEFT JOIN LATERAL (SELECT count(*) AS lines, sum(octet_length(text)) AS bytes FROM run_logs WHERE run_id = r.id) l ON true
          WHERE r.id = ANY($1::text[]) ORDER BY r.id`,
        [lockedIds],
      );
      const runs = res.rows.map((r) => expiredRunRow.parse(r));
      await beforeDelete(runs);
      await c.query('DELETE FROM pipeline_runs WHERE id = ANY($1::text[])', [lockedIds]);
      return runs;
    });
  }

  /**
   * Calls `work` with those of the runs named that are still finished before `cut`, each locked for
   * the call (a retry of one of them waits until `work` is done). Returns what `work` returns.
   */
  async withFinishedLocked<T>(ids: readonly string[], cut: Date, work: (ids: string[]) => Promise<T>): Promise<T> {
    return this.db.tx(async (c: pg.PoolClient) => {
      const res = await c.query(`SELECT r.id FROM pipeline_runs r WHERE r.id = ANY($1::text[]) AND ${FINISHED_BEFORE('$2')} FOR UPDATE OF r`, [ids, cut]);
      return work(res.rows.map((r) => z.string().parse(r.id)));
    });
  }

  /**
   * Deletes one batch of `project`'s log lines printed before `cut` by finished runs; returns what
   * it deleted per pipeline (empty once none is left).
   */
  async deleteLogBatch(project: string, cut: Date): Promise<PipelineLogs[]> {
    const res = await this.db.pool.query(
      `WITH gone AS (
         DELETE FROM run_logs WHERE id IN (
           SELECT l.id FROM run_logs l JOIN pipeline_runs r ON r.id = l.run_id
            WHERE r.project = $1 AND ${FINISHED} AND l.at < $2 LIMIT ${LOG_BATCH})
         RETURNING run_id, octet_length(text) AS bytes)
       SELECT r.pipeline, count(*) AS lines, coalesce(sum(g.bytes), 0) AS bytes FROM gone g JOIN pipeline_runs r ON r.id = g.run_id GROUP BY r.pipeline`,
      [project, cut],
    );
    return res.rows.map((r) => logsRow.parse(r));
  }
}
