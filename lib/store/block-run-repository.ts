import { type JsonObject } from '../pipeline/model';
import { type BlockRunStatus } from '../run/states';
import { type Db, type Queryable } from './db';
import { blockRunColumns, type ErrorOnEntry } from './state-columns';
import { blockRunRow, rows, type BlockRunRow } from './types';

/** How `error` is written for each rule of state-columns.ts; `$8` is the new error, passed only for `record`. */
const ERROR_SET: Record<ErrorOnEntry, string> = {
  record: 'COALESCE($8, error)',
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
    await on.query(
      `INSERT INTO block_runs (run_id, block_uuid, position, status)
       SELECT $1, b, p::int - 1, 'initial' FROM unnest($2::text[]) WITH ORDINALITY AS t(b, p)
       ON CONFLICT (run_id, block_uuid) DO NOTHING`,
      [runId, blocks],
    );
    return this.list(runId, on);
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
   */
  async setStatus(
    runId: string,
    block: string,
    status: BlockRunStatus,
    at: Date,
    extra: { attempt?: number; message?: string; error?: JsonObject | null; rowCount?: number } = {},
    on: Queryable = this.db.pool,
  ): Promise<void> {
    const cols = blockRunColumns(status, at);
    const params: unknown[] = [runId, block, status, cols.startedAtIfUnset, cols.completedAt, extra.attempt ?? null, extra.rowCount ?? null];
    // Postgres refuses a parameter it cannot type, so the error is passed only where ERROR_SET reads it.
    if (cols.error === 'record') params.push(extra.error ? JSON.stringify(extra.error) : null);
    await on.query(
      `UPDATE block_runs SET status = $3,
         started_at = COALESCE(started_at, $4),
         completed_at = $5,
         attempts = GREATEST(attempts, COALESCE($6, 0)),
         error = ${ERROR_SET[cols.error]},
         row_count = COALESCE($7, row_count)
       WHERE run_id = $1 AND block_uuid = $2`,
      params,
    );
    await on.query('INSERT INTO run_events (run_id, block_uuid, status, attempt, at, message) VALUES ($1,$2,$3,$4,$5,$6)', [runId, block, status, extra.attempt ?? null, at, extra.message ?? null]);
  }

  /** Records attempt `attempt` (1-based, counted over the block run's life) as running, and the block run with it. */
  async startAttempt(runId: string, block: string, attempt: number, at: Date): Promise<void> {
    await this.db.tx(async (c) => {
      await c.query(
        `INSERT INTO block_run_attempts (block_run_id, attempt, status, started_at)
         SELECT id, $3, 'running', $4 FROM block_runs WHERE run_id = $1 AND block_uuid = $2
         ON CONFLICT (block_run_id, attempt) DO UPDATE SET status = 'running', started_at = EXCLUDED.started_at, finished_at = NULL, error = NULL`,
        [runId, block, attempt, at],
      );
      await this.setStatus(runId, block, 'running', at, { attempt, message: `attempt ${attempt}` }, c);
    });
  }

  /** Records how an attempt ended and its duration in ms; the block run's own status is set separately (setStatus). */
  async finishAttempt(
    runId: string,
    block: string,
    attempt: number,
    status: 'completed' | 'failed' | 'cancelled',
    at: Date,
    durationMs: number,
    error: JsonObject | null,
    on: Queryable = this.db.pool,
  ): Promise<void> {
    await on.query(
      `UPDATE block_run_attempts a SET status = $4, finished_at = $5, duration_ms = $6, error = $7
         FROM block_runs b WHERE b.id = a.block_run_id AND b.run_id = $1 AND b.block_uuid = $2 AND a.attempt = $3`,
      [runId, block, attempt, status, at, durationMs, error ? JSON.stringify(error) : null],
    );
  }
}
