import { type JsonObject } from '../pipeline/model';
import { type BlockRunStatus } from '../run/states';
import { type Db, type Queryable } from './db';
import { blockRunColumns, type ErrorOnEntry } from './state-columns';
import { blockRunRow, rows, type BlockRunRow } from './types';

/** How `error` is written for the rules of state-columns.ts that need no new value (`record` takes the move's error). */
const ERROR_SET: Record<Exclude<ErrorOnEntry, 'record'>, string> = {
  clear: 'NULL',
  keep: 'error',
};

/**
 * Block runs of pipeline runs: one row per planned block with its current status, every transition
 * appended to run_events (the history the status is read back from), and one row per attempt.
 */
export class BlockRunRepository {
  constructor(private readonly db: Db) {}

  /** Block runs for the planned blocks (kept when they exist: a resumed run keeps its history), in plan order. */
  async ensure(runId: string, blocks: readonly string[], on: Queryable = this.db.pool): Promise<BlockRunRow[]> {
    // One statement (a worker's claim waits for it before the first block): the rows it inserts,
    // and those there before it (its snapshot does not see the new ones).
    const res = await on.query(
      `WITH added AS (
         INSERT INTO block_runs (run_id, block_uuid, position, status)
         SELECT $1, b, p::int - 1, 'initial' FROM unnest($2::text[]) WITH ORDINALITY AS t(b, p)
         ON CONFLICT (run_id, block_uuid) DO NOTHING RETURNING *)
       SELECT * FROM (SELECT * FROM block_runs WHERE run_id = $1 UNION ALL SELECT * FROM added) b ORDER BY position`,
      [runId, blocks],
    );
    return rows(blockRunRow, res.rows);
  }

  /**
   * Block runs that join a running run (a dynamic block's children), after the ones it has, in
   * the given order; ones it has already (a resumed run's) are kept as they are.
   */
  async add(runId: string, blocks: readonly string[], on: Queryable = this.db.pool): Promise<void> {
    if (blocks.length === 0) return;
    await on.query(
      `INSERT INTO block_runs (run_id, block_uuid, position, status)
       SELECT $1, b, (SELECT coalesce(max(position), -1) FROM block_runs WHERE run_id = $1) + p::int, 'initial'
       FROM unnest($2::text[]) WITH ORDINALITY AS t(b, p)
       ON CONFLICT (run_id, block_uuid) DO NOTHING`,
      [runId, blocks],
    );
  }

  /** The block runs of a run, in plan order. */
  async list(runId: string, on: Queryable = this.db.pool): Promise<BlockRunRow[]> {
    const res = await on.query('SELECT * FROM block_runs WHERE run_id = $1 ORDER BY position', [runId]);
    return rows(blockRunRow, res.rows);
  }

  /**
   * One block-run transition, stored with its time in the append-only history. The timestamps and
   * error follow from the status by state-columns.ts: started_at is set at the first `running`,
   * completed_at on a finished status (cleared otherwise), the error recorded by failed/cancelled and
   * cleared by queued/completed. `attempt` only ever raises the count; `rowCount` replaces it when given.
   * One statement (atomic on its own), in the caller's transaction when `on` is one.
   */
  async setStatus(runId: string, block: string, status: BlockRunStatus, at: Date, extra: StatusExtra = {}, on: Queryable = this.db.pool): Promise<void> {
    await this.setStatusMany(runId, [block], status, at, extra, on);
  }

  /** The same move of several block runs at once (a run's blocks queued at its start), in one statement. */
  async setStatusMany(runId: string, blocks: readonly string[], status: BlockRunStatus, at: Date, extra: StatusExtra = {}, on: Queryable = this.db.pool): Promise<void> {
    if (blocks.length === 0) return;
    const move = moveSql(runId, blocks, status, at, extra, []);
    await on.query(`WITH ${move.cte} ${move.event}`, move.params);
  }

  /** Records attempt `attempt` (1-based, counted over the block run's life) as running, and the block run with it, in one statement. */
  async startAttempt(runId: string, block: string, attempt: number, at: Date): Promise<void> {
    const move = moveSql(runId, block, 'running', at, { attempt, message: `attempt ${attempt}` }, []);
    const p = move.params.length;
    await this.db.pool.query(
      `WITH ${move.cte},
         started AS (
           INSERT INTO block_run_attempts (block_run_id, attempt, status, started_at)
           SELECT id, $${p + 1}, 'running', $${p + 2} FROM moved
           ON CONFLICT (block_run_id, attempt) DO UPDATE SET status = 'running', started_at = EXCLUDED.started_at, finished_at = NULL, error = NULL
           RETURNING 1)
       ${move.event}`,
      [...move.params, attempt, at],
    );
  }

  /**
   * Records an attempt lost when its host stopped (a worker draining): ended `cancelled`, and not
   * counted against the block's retry_config when the run resumes (attempt_base moves past it).
   */
  async loseAttempt(runId: string, block: string, ended: { attempt: number; at: Date; durationMs: number; error: JsonObject | null }): Promise<void> {
    await this.db.pool.query(
      `WITH lost AS (
         UPDATE block_run_attempts a SET status = 'cancelled', finished_at = $4, duration_ms = $5, error = $6
           FROM block_runs b WHERE b.id = a.block_run_id AND b.run_id = $1 AND b.block_uuid = $2 AND a.attempt = $3 RETURNING b.id)
       UPDATE block_runs SET attempt_base = attempt_base + 1 WHERE id IN (SELECT id FROM lost)`,
      [runId, block, ended.attempt, ended.at, ended.durationMs, ended.error ? JSON.stringify(ended.error) : null],
    );
  }

  /**
   * Records how an attempt ended (duration in ms) together with its block run's move, in one
   * statement: a crash never leaves a completed attempt under a block still running.
   */
  async finishAttempt(
    runId: string,
    block: string,
    ended: { attempt: number; status: 'completed' | 'failed' | 'cancelled'; at: Date; durationMs: number; error: JsonObject | null },
    move?: { status: BlockRunStatus; at: Date; extra: StatusExtra },
  ): Promise<void> {
    const attemptParams = [runId, block, ended.attempt, ended.status, ended.at, ended.durationMs, ended.error ? JSON.stringify(ended.error) : null];
    const finish = `UPDATE block_run_attempts a SET status = $4, finished_at = $5, duration_ms = $6, error = $7
         FROM block_runs b WHERE b.id = a.block_run_id AND b.run_id = $1 AND b.block_uuid = $2 AND a.attempt = $3`;
    if (!move) {
      await this.db.pool.query(finish, attemptParams);
      return;
    }
    const m = moveSql(runId, block, move.status, move.at, move.extra, attemptParams);
    await this.db.pool.query(`WITH finished AS (${finish} RETURNING 1), ${m.cte} ${m.event}`, m.params);
  }
}

/** What a block-run move may carry besides its status. */
export interface StatusExtra {
  attempt?: number;
  message?: string;
  error?: JsonObject | null;
  rowCount?: number;
  /** It completed by reusing its cached output; a new attempt clears it. */
  cached?: boolean;
}

/**
 * A block run's move as SQL: `cte` is `moved AS (UPDATE ... RETURNING id)` and `event` the history
 * INSERT that follows it, numbering parameters after `before` (which are kept first in `params`).
 */
function moveSql(runId: string, blocks: string | readonly string[], status: BlockRunStatus, at: Date, extra: StatusExtra, before: readonly unknown[]): { cte: string; event: string; params: unknown[] } {
  const cols = blockRunColumns(status, at);
  const params: unknown[] = [...before];
  const $ = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const run = $(runId);
  const uuid = $(typeof blocks === 'string' ? [blocks] : blocks);
  const st = $(status);
  const when = $(at);
  const attempt = $(extra.attempt ?? null);
  // Postgres refuses a parameter it cannot type, so the error is passed only where ERROR_SET reads it.
  const error = cols.error === 'record' ? `COALESCE(${$(extra.error ? JSON.stringify(extra.error) : null)}::jsonb, error)` : ERROR_SET[cols.error];
  const cte = `moved AS (
      UPDATE block_runs SET status = ${st},
         started_at = COALESCE(started_at, ${$(cols.startedAtIfUnset)}::timestamptz),
         completed_at = ${$(cols.completedAt)}::timestamptz,
         attempts = GREATEST(attempts, COALESCE(${attempt}::int, 0)),
         error = ${error},
         row_count = COALESCE(${$(extra.rowCount ?? null)}::bigint, row_count),
         cached = COALESCE(${$(extra.cached ?? null)}::boolean, cached AND ${st}::text <> 'running')
       WHERE run_id = ${run} AND block_uuid = ANY(${uuid}::text[])
       RETURNING id, block_uuid, position)`;
  // In plan order, so the history reads like the run.
  const event = `INSERT INTO run_events (run_id, block_uuid, status, attempt, at, message) SELECT ${run}, moved.block_uuid, ${st}, ${attempt}::int, ${when}, ${$(extra.message ?? null)}::text FROM moved ORDER BY moved.position`;
  return { cte, event, params };
}
