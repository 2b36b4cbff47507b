import { type Db } from './db';
import { rows, workerRow, type WorkerKind, type WorkerRow, type WorkerStatus } from './types';

/** A positive number from the environment, else `fallback`. */
function fromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** How often a process heartbeats its row, in milliseconds (GRIMOIRE_HEARTBEAT_MS, default 2000). */
export const HEARTBEAT_MS = fromEnv('GRIMOIRE_HEARTBEAT_MS', 2_000);
/**
 * A process whose liveness lock is free and whose last heartbeat is older than this is lost, in
 * seconds (GRIMOIRE_LOST_AFTER_SECONDS, default 10): its runs move to other workers. Five
 * heartbeats, so a slow tick or two never loses one.
 */
export const LOST_AFTER_SECONDS = fromEnv('GRIMOIRE_LOST_AFTER_SECONDS', 10);

/** How long the row of a process that stopped or was lost is kept, in days. */
const ENDED_KEPT_DAYS = 7;

/** What a process says about itself when it registers. */
export interface WorkerInfo {
  id: string;
  kind: WorkerKind;
  host: string;
  pid: number;
  version: string;
  /** The queues it takes runs from (workers), empty for the others. */
  queues: readonly string[];
  /** Runs at once (workers), 0 for the others. */
  concurrency: number;
}

/**
 * How long since a row's last sign of life, in the database's clock, counted at the latest from
 * the moment the database started: a restart (which drops every liveness lock) never makes live
 * processes look lost, they get a full timeout to heartbeat again.
 */
const SILENT_FOR = `now() - greatest(heartbeat_at, pg_postmaster_start_time())`;

/**
 * The `workers` table (migration 6): every process that drives runs (workers, the editor's server,
 * `grimoire run`) registers, heartbeats every HEARTBEAT_MS, and is marked stopped when it ends or
 * lost when another process finds it silent. What the workers page shows.
 */
export class WorkerRepository {
  constructor(private readonly db: Db) {}

  /**
   * Registers (or re-registers) a process as alive. Rows of processes that ended more than
   * ENDED_KEPT_DAYS ago go at the same time: every `grimoire run` adds one, and the workers page
   * shows only recent ones.
   */
  async register(info: WorkerInfo): Promise<void> {
    await this.db.pool.query(`DELETE FROM workers WHERE status IN ('stopped', 'lost') AND stopped_at < now() - make_interval(days => $1)`, [ENDED_KEPT_DAYS]);
    await this.db.pool.query(
      `INSERT INTO workers (id, kind, host, pid, version, queues, concurrency, status, started_at, heartbeat_at, memory_rss)
       VALUES ($1,$2,$3,$4,$5,$6,$7,'alive', now(), now(), $8)
       ON CONFLICT (id) DO UPDATE SET status = 'alive', heartbeat_at = now(), stopped_at = NULL, queues = EXCLUDED.queues, concurrency = EXCLUDED.concurrency`,
      [info.id, info.kind, info.host, info.pid, info.version, [...info.queues], info.concurrency, process.memoryUsage.rss()],
    );
  }

  /**
   * One heartbeat: the time and the process's memory (bytes). Returns the row's status, which says
   * `lost` when another process gave this one's runs away (then it must stop driving them), or
   * null when the row is gone.
   */
  async heartbeat(id: string, memoryRss: number): Promise<WorkerStatus | null> {
    const res = await this.db.pool.query(`UPDATE workers SET heartbeat_at = now(), memory_rss = $2 WHERE id = $1 RETURNING *`, [id, memoryRss]);
    return rows(workerRow, res.rows)[0]?.status ?? null;
  }

  /** Sets an alive process's status to `draining` (takes no new runs) or `stopped` (it ended). */
  async setStatus(id: string, status: 'draining' | 'stopped'): Promise<void> {
    await this.db.pool.query(`UPDATE workers SET status = $2, stopped_at = CASE WHEN $2 = 'stopped' THEN now() ELSE stopped_at END WHERE id = $1 AND status <> 'lost'`, [id, status]);
  }

  /** Counts a run this worker finished. */
  async countRun(id: string, outcome: 'completed' | 'failed'): Promise<void> {
    await this.db.pool.query(`UPDATE workers SET ${outcome === 'completed' ? 'runs_completed = runs_completed + 1' : 'runs_failed = runs_failed + 1'} WHERE id = $1`, [id]);
  }

  /**
   * Whether the process `id` is gone, so its runs may move: nobody holds its liveness lock, and its
   * row says it stopped or was lost, or has been silent for `lostAfterSeconds`. A process without a
   * row (from before migration 6) is gone when its lock is free.
   */
  async isGone(id: string, lostAfterSeconds = LOST_AFTER_SECONDS): Promise<boolean> {
    const res = await this.db.pool.query<{ status: string; silent: boolean }>(`SELECT status, ${SILENT_FOR} > make_interval(secs => $2) AS silent FROM workers WHERE id = $1`, [id, lostAfterSeconds]);
    const row = res.rows[0];
    if (row && (row.status === 'alive' || row.status === 'draining') && !row.silent) return false;
    return !(await isLockHeld(this.db, id));
  }

  /**
   * Marks every alive or draining process that is gone (see `isGone`) as lost, once whoever asks;
   * returns the ids this call marked.
   */
  async markLost(lostAfterSeconds = LOST_AFTER_SECONDS): Promise<string[]> {
    const silent = await this.db.pool.query<{ id: string }>(`SELECT id FROM workers WHERE status IN ('alive', 'draining') AND ${SILENT_FOR} > make_interval(secs => $1)`, [lostAfterSeconds]);
    const marked: string[] = [];
    for (const { id } of silent.rows) {
      if (await isLockHeld(this.db, id)) continue;
      const res = await this.db.pool.query(
        `UPDATE workers SET status = 'lost', stopped_at = now() WHERE id = $1 AND status IN ('alive', 'draining') AND ${SILENT_FOR} > make_interval(secs => $2) RETURNING id`,
        [id, lostAfterSeconds],
      );
      if (res.rowCount) marked.push(id);
    }
    return marked;
  }

  /** Notes a run moved away from a lost process. */
  async addMovedRun(id: string, runId: string): Promise<void> {
    await this.db.pool.query(`UPDATE workers SET moved_runs = array_append(moved_runs, $2) WHERE id = $1 AND NOT ($2 = ANY(moved_runs))`, [id, runId]);
  }

  /** Every process, alive first, then by last heartbeat, newest first; at most `limit`. */
  async list(limit = 200): Promise<WorkerRow[]> {
    const res = await this.db.pool.query(`SELECT * FROM workers ORDER BY (status IN ('alive', 'draining')) DESC, heartbeat_at DESC LIMIT $1`, [limit]);
    return rows(workerRow, res.rows);
  }

  /** The queues some alive worker serves now. */
  async servedQueues(lostAfterSeconds = LOST_AFTER_SECONDS): Promise<Set<string>> {
    const res = await this.db.pool.query<{ queue: string }>(
      `SELECT DISTINCT unnest(queues) AS queue FROM workers WHERE kind = 'worker' AND status = 'alive' AND ${SILENT_FOR} <= make_interval(secs => $1)`,
      [lostAfterSeconds],
    );
    return new Set(res.rows.map((r) => r.queue));
  }
}

/** The advisory-lock key of a process's liveness (presence.ts holds it). */
export const livenessKey = (ownerId: string) => `grimoire.worker.${ownerId}`;

/** Whether some session holds the liveness lock of `ownerId` (tried and given back at once). */
async function isLockHeld(db: Db, ownerId: string): Promise<boolean> {
  const c = await db.pool.connect();
  try {
    const res = await c.query<{ got: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got', [livenessKey(ownerId)]);
    const got = res.rows[0]?.got ?? false;
    if (got) await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [livenessKey(ownerId)]);
    return !got;
  } finally {
    c.release();
  }
}
