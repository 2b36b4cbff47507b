import { z } from 'zod';
import { type WorkersQuery, type WorkersResponse, type WorkerViewJson } from '../protocol/workers-api';
import { type Db } from './db';
import { rows, workerRow } from './types';
import { HEARTBEAT_MS, LOST_AFTER_SECONDS } from './worker-repository';

const LIVE = `('alive', 'draining')`;

/**
 * Late: alive or draining, and silent for longer than the lost timeout. The silence is counted as
 * worker-repository.ts counts it before marking a process lost (and lib/metrics counts `late`):
 * from the database's start at the latest, so right after a Postgres restart live processes get a
 * full timeout to heartbeat again instead of all showing late at once.
 */
const LATE = (lostAfter: string) => `w.status IN ${LIVE} AND now() - greatest(w.heartbeat_at, pg_postmaster_start_time()) > make_interval(secs => ${lostAfter})`;

/** A workers row with what the page derives from it, and one of its running runs (none: nulls). */
const pageRow = workerRow.extend({
  silent_seconds: z.number(),
  late: z.boolean(),
  run_id: z.string().nullable(),
  run_project: z.string().nullable(),
  run_pipeline: z.string().nullable(),
  run_started_at: z.date().nullable(),
});

const countRow = z.object({ n: z.number().int() });

/**
 * The workers page (GET /api/workers), read-only: every live process (alive or draining) and the
 * `query.ended` most recently ended ones (stopped or lost), each with the runs it drives now
 * (pipeline_runs `running` with its worker_id, joined in SQL), its silence in the database's clock
 * and the state to show (`late` for a live one silent past the lost timeout). Sorted alive, then
 * draining, then late (each by start, oldest first, so rows keep their places between polls), then
 * the ended ones, the most recently ended first.
 */
export async function readWorkersPage(db: Db, query: WorkersQuery, lostAfterSeconds = LOST_AFTER_SECONDS): Promise<WorkersResponse> {
  const [listed, ended] = await Promise.all([
    db.pool.query(
      `WITH shown AS (
         (SELECT * FROM workers WHERE status IN ${LIVE})
         UNION ALL
         (SELECT * FROM workers WHERE status NOT IN ${LIVE} ORDER BY coalesce(stopped_at, heartbeat_at) DESC, id LIMIT $2)
       ), judged AS (
         SELECT w.*,
                greatest(0, EXTRACT(EPOCH FROM now() - w.heartbeat_at))::float8 AS silent_seconds,
                (${LATE('$1')}) AS late
           FROM shown w
       )
       SELECT w.*, r.id AS run_id, r.project AS run_project, r.pipeline AS run_pipeline, r.started_at AS run_started_at
         FROM judged w
         LEFT JOIN pipeline_runs r ON r.worker_id = w.id AND r.status = 'running'
        ORDER BY CASE WHEN w.late THEN 2 WHEN w.status = 'alive' THEN 0 WHEN w.status = 'draining' THEN 1 ELSE 3 END,
                 CASE WHEN w.status IN ${LIVE} THEN w.started_at END ASC,
                 coalesce(w.stopped_at, w.heartbeat_at) DESC,
                 w.id,
                 r.started_at ASC NULLS LAST,
                 r.id`,
      [lostAfterSeconds, query.ended],
    ),
    db.pool.query(`SELECT count(*)::int AS n FROM workers WHERE status NOT IN ${LIVE}`),
  ]);
  // One row per (process, running run): folded back into one entry per process, in the SQL's order.
  const workers = new Map<string, WorkerViewJson>();
  for (const r of rows(pageRow, listed.rows)) {
    let view = workers.get(r.id);
    if (!view) {
      view = {
        id: r.id,
        kind: r.kind,
        host: r.host,
        pid: r.pid,
        version: r.version,
        queues: r.queues,
        concurrency: r.concurrency,
        status: r.status,
        started_at: r.started_at.toISOString(),
        heartbeat_at: r.heartbeat_at.toISOString(),
        stopped_at: r.stopped_at?.toISOString() ?? null,
        memory_rss: r.memory_rss,
        runs_completed: r.runs_completed,
        runs_failed: r.runs_failed,
        moved_runs: r.moved_runs,
        running: [],
        silentSeconds: r.silent_seconds,
        shownStatus: r.late ? 'late' : r.status,
      };
      workers.set(r.id, view);
    }
    // All null when the LEFT JOIN found no running run of this process.
    if (r.run_id !== null && r.run_project !== null && r.run_pipeline !== null) {
      view.running.push({ runId: r.run_id, project: r.run_project, pipeline: r.run_pipeline, startedAt: r.run_started_at?.toISOString() ?? null });
    }
  }
  const endedListed = [...workers.values()].filter((w) => w.status !== 'alive' && w.status !== 'draining').length;
  const endedTotal = rows(countRow, ended.rows)[0]?.n ?? 0;
  return {
    workers: [...workers.values()],
    // Read a moment apart: a process that ended in between must not make this negative.
    endedNotShown: Math.max(0, endedTotal - endedListed),
    lostAfterSeconds,
    heartbeatMs: HEARTBEAT_MS,
  };
}
