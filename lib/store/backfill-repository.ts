import { randomUUID } from 'node:crypto';
import { type JsonObject } from '../pipeline/model';
import { type PipelineRunStatus } from '../run/states';
import { type Db } from './db';
import { type RunRepository } from './run-repository';
import { backfillProgress } from './slots';
import { backfillRow, rows, type BackfillRow } from './types';

/**
 * Backfills: a range of execution dates run as one batch, `concurrency` runs at a time. A backfill
 * is settled (completed, failed or cancelled) by the transaction that ends its last run (slots.ts).
 */
export class BackfillRepository {
  constructor(
    private readonly db: Db,
    private readonly runs: RunRepository,
  ) {}

  /**
   * Creates a backfill in status running with one run per execution date given (none twice: the
   * unique key of runs decides), and queues the first `concurrency` of them.
   */
  async create(b: Omit<BackfillRow, 'id' | 'status' | 'created_at' | 'completed_at'>, runs: readonly { executionDate: Date; variables: JsonObject }[]): Promise<BackfillRow> {
    return this.db.tx(async (c) => {
      const id = randomUUID();
      const res = await c.query(
        `INSERT INTO backfills (id, project, pipeline, name, start_datetime, end_datetime, interval_unit, interval_value, concurrency, variables, status)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'running') RETURNING *`,
        [id, b.project, b.pipeline, b.name, b.start_datetime, b.end_datetime, b.interval_unit, b.interval_value, b.concurrency, JSON.stringify(b.variables)],
      );
      const created: string[] = [];
      for (const r of runs) {
        const run = await this.runs.create({ project: b.project, pipeline: b.pipeline, backfillId: id, kind: 'backfill', executionDate: r.executionDate, variables: r.variables }, c);
        if (run) created.push(run.id);
      }
      // The first `concurrency` runs start now; each one that finishes hands its slot on.
      for (const runId of created.slice(0, b.concurrency)) await this.runs.enqueue(runId, c);
      return rows(backfillRow, res.rows)[0]!;
    });
  }

  /** The backfills of a pipeline, newest first. */
  async list(project: string, pipeline: string): Promise<BackfillRow[]> {
    const res = await this.db.pool.query('SELECT * FROM backfills WHERE project = $1 AND pipeline = $2 ORDER BY created_at DESC', [project, pipeline]);
    return rows(backfillRow, res.rows);
  }

  /** A backfill by id; null if none. */
  async get(id: string): Promise<BackfillRow | null> {
    const res = await this.db.pool.query('SELECT * FROM backfills WHERE id = $1', [id]);
    return rows(backfillRow, res.rows)[0] ?? null;
  }

  /** Run counts per status of a backfill, for its progress bar. */
  async progress(id: string): Promise<Record<PipelineRunStatus, number>> {
    return backfillProgress(id, this.db.pool);
  }
}
