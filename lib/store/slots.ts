import { type PipelineRunStatus } from '../run/states';
import { type Queryable } from './db';

/**
 * Slots: a trigger's run_limit and a backfill's concurrency bound how many of their runs run at once.
 * What the run and backfill repositories both need of them lives here, so neither imports the other
 * for it: which waiting run may start, and when a backfill whose runs are all done is settled.
 */

// A waiting run may start when its trigger's run limit and its backfill's concurrency leave room.
export const CLAIMABLE_FROM = `pipeline_runs r LEFT JOIN triggers t ON t.id = r.trigger_id LEFT JOIN backfills b ON b.id = r.backfill_id`;
export const CLAIMABLE = `r.status = 'initial'
  AND (t.id IS NULL OR (t.settings->>'run_limit') IS NULL
       OR (SELECT count(*) FROM pipeline_runs x WHERE x.trigger_id = r.trigger_id AND x.status = 'running') < (t.settings->>'run_limit')::int)
  AND (b.id IS NULL OR (SELECT count(*) FROM pipeline_runs x WHERE x.backfill_id = r.backfill_id AND x.status = 'running') < b.concurrency)`;

/** The oldest claimable run waiting for the trigger slot and the backfill slot that run `runId` held (at most one each). */
export async function runsWaitingForSlotsOf(runId: string, on: Queryable): Promise<string[]> {
  const res = await on.query<{ id: string }>(
    `SELECT DISTINCT ON (grp) id FROM (
       SELECT r.id, 'trigger' AS grp, r.execution_date, r.created_at FROM ${CLAIMABLE_FROM}
         JOIN pipeline_runs done ON done.id = $1 AND done.trigger_id = r.trigger_id WHERE ${CLAIMABLE}
       UNION ALL
       SELECT r.id, 'backfill' AS grp, r.execution_date, r.created_at FROM ${CLAIMABLE_FROM}
         JOIN pipeline_runs done ON done.id = $1 AND done.backfill_id = r.backfill_id WHERE ${CLAIMABLE}
     ) w ORDER BY grp, execution_date, created_at`,
    [runId],
  );
  return res.rows.map((r) => r.id);
}

/** Run counts per status of a backfill, for its progress bar. */
export async function backfillProgress(id: string, on: Queryable): Promise<Record<PipelineRunStatus, number>> {
  const res = await on.query<{ status: PipelineRunStatus; n: string }>('SELECT status, count(*) AS n FROM pipeline_runs WHERE backfill_id = $1 GROUP BY status', [id]);
  const out: Record<PipelineRunStatus, number> = { initial: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const r of res.rows) out[r.status] = Number(r.n);
  return out;
}

/** Marks a run's backfill finished once none of its runs is left to run (whichever way the last one ended). */
export async function settleBackfillOf(runId: string, at: Date, on: Queryable): Promise<void> {
  const res = await on.query<{ backfill_id: string | null }>('SELECT backfill_id FROM pipeline_runs WHERE id = $1', [runId]);
  const id = res.rows[0]?.backfill_id;
  if (!id) return;
  // Two runs finishing at once: the second waits here, then counts with the first one committed.
  await on.query('SELECT 1 FROM backfills WHERE id = $1 FOR UPDATE', [id]);
  const p = await backfillProgress(id, on);
  if (p.initial + p.running > 0) return;
  const status = p.failed > 0 ? 'failed' : p.cancelled > 0 ? 'cancelled' : 'completed';
  await on.query(`UPDATE backfills SET status = $2, completed_at = $3 WHERE id = $1 AND status = 'running'`, [id, status, at]);
}
