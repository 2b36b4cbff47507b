import { type Db } from './db';
import { logRow, rows, type LogRow } from './types';

/** Log lines of block runs: what each attempt printed, by stream, in arrival order (id). */
export class LogRepository {
  constructor(private readonly db: Db) {}

  /** Appends lines in one statement (a worker batches them); `attempt` is the block run's attempt that printed them. */
  async append(lines: readonly { runId: string; block: string; attempt: number; at: Date; stream: string; text: string }[]): Promise<void> {
    if (lines.length === 0) return;
    await this.db.pool.query(
      `INSERT INTO run_logs (run_id, block_uuid, attempt, at, stream, text)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $6::text[])`,
      [lines.map((l) => l.runId), lines.map((l) => l.block), lines.map((l) => l.attempt), lines.map((l) => l.at), lines.map((l) => l.stream), lines.map((l) => l.text)],
    );
  }

  /**
   * Log lines of a run (optionally one block), oldest first: after an id (for streaming) or containing
   * `search` (case-insensitive; % and _ match themselves), at most `limit` (default 5000).
   */
  async list(runId: string, filter: { block?: string; afterId?: number; search?: string; limit?: number } = {}): Promise<LogRow[]> {
    const res = await this.db.pool.query(
      `SELECT * FROM run_logs WHERE run_id = $1 AND ($2::text IS NULL OR block_uuid = $2) AND id > $3
         AND ($4::text IS NULL OR text ILIKE '%' || replace(replace(replace($4, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')
       ORDER BY id LIMIT $5`,
      [runId, filter.block ?? null, filter.afterId ?? 0, filter.search ?? null, filter.limit ?? 5000],
    );
    return rows(logRow, res.rows);
  }
}
