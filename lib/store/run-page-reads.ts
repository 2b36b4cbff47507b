import { z } from 'zod';
import { BLOCK_RUN_STATUSES, type BlockRunStatus } from '../run/states';
import { type Db } from './db';
import { attemptRow, blockRunRow, logRow, rows, runEventRow, type AttemptRow, type BlockRunRow, type LogRow, type RunEventRow } from './types';

/**
 * A dynamic block's children are block runs named `<uuid>:<key>[:<key>...]`; a name without `:`
 * is one of the run's own. In SQL, so a run of 1,000 children is never read whole for a page.
 */
const OWN = `strpos(block_uuid, ':') = 0`;
const CHILD_OF = (param: string) => `strpos(block_uuid, ':') > 0 AND split_part(block_uuid, ':', 1) = ${param}`;

/** How many children a block has in each status. */
export interface ChildCounts {
  block: string;
  status: BlockRunStatus;
  count: number;
}

const childCountRow = z.object({ block: z.string(), status: z.enum(BLOCK_RUN_STATUSES), count: z.coerce.number().int() });

/** Block runs with their attempts and transitions, in plan order. */
export interface BlockRunsRead {
  blocks: BlockRunRow[];
  attempts: AttemptRow[];
  events: RunEventRow[];
}

/**
 * Reads behind the run page (read-only) that stay quick however many children dynamic blocks
 * made: the run's own block runs with their children counted, and the children a page at a time.
 */
export class RunPageReads {
  constructor(private readonly db: Db) {}

  /** The run's own block runs (no children), their attempts, the run's and their transitions, and each block's children counted by status. */
  async overview(runId: string): Promise<BlockRunsRead & { children: ChildCounts[] }> {
    const [blocks, attempts, events, children] = await Promise.all([
      this.db.pool.query(`SELECT * FROM block_runs WHERE run_id = $1 AND ${OWN} ORDER BY position`, [runId]),
      this.db.pool.query(`SELECT a.*, b.block_uuid FROM block_run_attempts a JOIN block_runs b ON b.id = a.block_run_id WHERE b.run_id = $1 AND strpos(b.block_uuid, ':') = 0 ORDER BY a.started_at, a.id`, [runId]),
      this.db.pool.query(`SELECT * FROM run_events WHERE run_id = $1 AND (block_uuid IS NULL OR ${OWN}) ORDER BY id`, [runId]),
      this.db.pool.query(
        `SELECT split_part(block_uuid, ':', 1) AS block, status, count(*) AS count FROM block_runs WHERE run_id = $1 AND strpos(block_uuid, ':') > 0 GROUP BY 1, 2 ORDER BY 1, 2`,
        [runId],
      ),
    ]);
    return { blocks: rows(blockRunRow, blocks.rows), attempts: rows(attemptRow, attempts.rows), events: rows(runEventRow, events.rows), children: rows(childCountRow, children.rows) };
  }

  /**
   * One page of block `block`'s children (in the order they joined the run; of one status when
   * given) with their attempts and transitions, and how many match in all.
   */
  async children(runId: string, block: string, page: { offset: number; limit: number; status?: BlockRunStatus }): Promise<BlockRunsRead & { total: number }> {
    const where = `run_id = $1 AND ${CHILD_OF('$2')} AND ($3::text IS NULL OR status = $3)`;
    const params = [runId, block, page.status ?? null];
    const [list, total] = await Promise.all([
      this.db.pool.query(`SELECT * FROM block_runs WHERE ${where} ORDER BY position LIMIT $4 OFFSET $5`, [...params, page.limit, page.offset]),
      this.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM block_runs WHERE ${where}`, params),
    ]);
    const blocks = rows(blockRunRow, list.rows);
    const ids = blocks.map((b) => b.id);
    const names = blocks.map((b) => b.block_uuid);
    const [attempts, events] = await Promise.all([
      this.db.pool.query('SELECT a.*, b.block_uuid FROM block_run_attempts a JOIN block_runs b ON b.id = a.block_run_id WHERE a.block_run_id = ANY($1::bigint[]) ORDER BY a.started_at, a.id', [ids]),
      this.db.pool.query('SELECT * FROM run_events WHERE run_id = $1 AND block_uuid = ANY($2::text[]) ORDER BY id', [runId, names]),
    ]);
    return { blocks, attempts: rows(attemptRow, attempts.rows), events: rows(runEventRow, events.rows), total: Number(total.rows[0]?.n ?? 0) };
  }

  /**
   * The newest log line of each of these block runs on `stream` that matches `pattern` (a
   * Postgres regular expression), read backwards from the newest: a sensor's last poke.
   */
  async lastLines(runId: string, names: readonly string[], stream: string, pattern: string): Promise<LogRow[]> {
    if (names.length === 0) return [];
    const res = await this.db.pool.query(
      `SELECT l.* FROM unnest($2::text[]) AS n(name)
         CROSS JOIN LATERAL (SELECT * FROM run_logs WHERE run_id = $1 AND block_uuid = n.name AND stream = $3 AND text ~ $4 ORDER BY id DESC LIMIT 1) l`,
      [runId, names, stream, pattern],
    );
    return rows(logRow, res.rows);
  }

  /** Every log line of these block runs on `stream` that starts with `prefix`, oldest first (at most `limit`). */
  async linesStarting(runId: string, names: readonly string[], stream: string, prefix: string, limit = 1000): Promise<LogRow[]> {
    if (names.length === 0) return [];
    const res = await this.db.pool.query(
      `SELECT * FROM run_logs WHERE run_id = $1 AND block_uuid = ANY($2::text[]) AND stream = $3 AND starts_with(text, $4) ORDER BY id LIMIT $5`,
      [runId, names, stream, prefix, limit],
    );
    return rows(logRow, res.rows);
  }
}
