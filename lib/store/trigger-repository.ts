import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { type Trigger } from '../pipeline/triggers';
import { type Db, type Queryable } from './db';
import { rows, triggerEventRow, triggerRow, type TriggerDecision, type TriggerEventRow, type TriggerRow } from './types';

/**
 * Triggers as the scheduler keeps them: the definitions of each pipeline's triggers.yaml, the
 * scheduler's state (cursor, next check, API token), and the log of its decisions.
 */
export class TriggerRepository {
  constructor(private readonly db: Db) {}

  /**
   * Makes the stored triggers of a pipeline match its triggers.yaml. Scheduler state (cursor, token)
   * survives edits; a trigger removed from the file is kept (its runs refer to it) but no longer fires.
   */
  async sync(project: string, pipeline: string, triggers: readonly Trigger[], now: Date): Promise<TriggerRow[]> {
    return this.db.tx(async (c) => {
      const out: TriggerRow[] = [];
      for (const t of triggers) {
        const res = await c.query(
          `INSERT INTO triggers (id, project, pipeline, name, schedule_type, schedule_interval, start_time, timezone, status, variables, settings, sla_seconds, first_active_at, next_check_at, created_at, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12, CASE WHEN $9 = 'active' THEN $13::timestamptz END, $13, $13, $13)
           ON CONFLICT (project, pipeline, name) DO UPDATE SET
             schedule_type = EXCLUDED.schedule_type, schedule_interval = EXCLUDED.schedule_interval, start_time = EXCLUDED.start_time,
             timezone = EXCLUDED.timezone, status = EXCLUDED.status, variables = EXCLUDED.variables, settings = EXCLUDED.settings,
             sla_seconds = EXCLUDED.sla_seconds, in_file = true, definition_error = NULL,
             first_active_at = COALESCE(triggers.first_active_at, EXCLUDED.first_active_at),
             -- a changed definition is looked at again at once; the cursor keeps it from firing twice
             next_check_at = CASE WHEN (triggers.schedule_type, triggers.schedule_interval, triggers.start_time, triggers.timezone, triggers.status, triggers.settings, triggers.in_file)
                                  IS DISTINCT FROM (EXCLUDED.schedule_type, EXCLUDED.schedule_interval, EXCLUDED.start_time, EXCLUDED.timezone, EXCLUDED.status, EXCLUDED.settings, true)
                                  THEN $13 ELSE triggers.next_check_at END,
             updated_at = CASE WHEN (triggers.schedule_type, triggers.schedule_interval, triggers.start_time, triggers.timezone, triggers.status, triggers.variables, triggers.settings, triggers.sla_seconds, triggers.in_file)
                                  IS DISTINCT FROM (EXCLUDED.schedule_type, EXCLUDED.schedule_interval, EXCLUDED.start_time, EXCLUDED.timezone, EXCLUDED.status, EXCLUDED.variables, EXCLUDED.settings, EXCLUDED.sla_seconds, true)
                                  THEN $13 ELSE triggers.updated_at END
           RETURNING *`,
          [
            randomUUID(),
            project,
            pipeline,
            t.name,
            t.schedule_type,
            t.schedule_interval,
            t.start_time,
            t.timezone,
            t.status,
            JSON.stringify(t.variables),
            JSON.stringify(t.settings),
            t.sla,
            now,
          ],
        );
        out.push(...rows(triggerRow, res.rows));
      }
      await c.query(`UPDATE triggers SET in_file = false, updated_at = $4 WHERE project = $1 AND pipeline = $2 AND in_file AND NOT (name = ANY($3::text[]))`, [
        project,
        pipeline,
        triggers.map((t) => t.name),
        now,
      ]);
      await this.db.notify('triggers', '', c);
      return out;
    });
  }

  /** A triggers.yaml that cannot be read: its triggers keep their last good definition and show why. */
  async markFileInvalid(project: string, pipeline: string, message: string): Promise<void> {
    await this.db.pool.query('UPDATE triggers SET definition_error = $3 WHERE project = $1 AND pipeline = $2 AND in_file', [project, pipeline, message]);
  }

  /** Triggers by project and pipeline name; those removed from their file only with `includeRemoved`. */
  async list(filter: { project?: string; pipeline?: string; includeRemoved?: boolean } = {}): Promise<TriggerRow[]> {
    const res = await this.db.pool.query(
      `SELECT * FROM triggers WHERE ($1::text IS NULL OR project = $1) AND ($2::text IS NULL OR pipeline = $2) AND ($3 OR in_file) ORDER BY project, pipeline, name`,
      [filter.project ?? null, filter.pipeline ?? null, filter.includeRemoved ?? false],
    );
    return rows(triggerRow, res.rows);
  }

  /** A trigger by its pipeline and name (removed ones too: their runs and token still refer to them); null if none. */
  async get(project: string, pipeline: string, name: string): Promise<TriggerRow | null> {
    const res = await this.db.pool.query('SELECT * FROM triggers WHERE project = $1 AND pipeline = $2 AND name = $3', [project, pipeline, name]);
    return rows(triggerRow, res.rows)[0] ?? null;
  }

  /** A trigger by id; null if none. */
  async getById(id: string): Promise<TriggerRow | null> {
    const res = await this.db.pool.query('SELECT * FROM triggers WHERE id = $1', [id]);
    return rows(triggerRow, res.rows)[0] ?? null;
  }

  /** Stores the hash of a trigger's new API token (the token itself is never stored), replacing the old one. */
  async setTokenHash(id: string, hash: string, at: Date): Promise<void> {
    await this.db.pool.query('UPDATE triggers SET token_hash = $2, token_created_at = $3 WHERE id = $1', [id, hash, at]);
  }

  /** Triggers due for a scheduling decision, locked for this transaction; others skip them. */
  async claimDue(c: pg.PoolClient, now: Date, limit = 100): Promise<TriggerRow[]> {
    const res = await c.query(
      `SELECT * FROM triggers
        WHERE schedule_type = 'time' AND status = 'active' AND in_file AND (next_check_at IS NULL OR next_check_at <= $1)
        ORDER BY next_check_at NULLS FIRST LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    return rows(triggerRow, res.rows);
  }

  /** Records a scheduling decision in the caller's transaction: the cursor (the last execution date decided) and when to look again (null: due at once, as for a new trigger). */
  async advance(c: pg.PoolClient, id: string, cursor: Date | null, nextCheck: Date | null, firstActiveAt: Date): Promise<void> {
    await c.query('UPDATE triggers SET cursor_execution_date = $2, next_check_at = $3, first_active_at = COALESCE(first_active_at, $4) WHERE id = $1', [id, cursor, nextCheck, firstActiveAt]);
  }

  /**
   * Holds the trigger's row until the caller's transaction ends: two callers deciding whether the
   * trigger may start a run (skip_if_previous_running) decide one after the other.
   */
  async lock(c: pg.PoolClient, id: string): Promise<void> {
    await c.query('SELECT 1 FROM triggers WHERE id = $1 FOR UPDATE', [id]);
  }

  /** The earliest next_check_at of the triggers that can fire: when the scheduler must wake. */
  async nextCheck(): Promise<Date | null> {
    // No '-infinity' stand-in for "due at once": pg hands infinities back as numbers, not Dates.
    const res = await this.db.pool.query<{ at: unknown; due_now: unknown }>(
      `SELECT min(next_check_at) AS at, bool_or(next_check_at IS NULL) AS due_now FROM triggers WHERE schedule_type = 'time' AND status = 'active' AND in_file`,
    );
    const row = res.rows[0];
    if (row?.due_now === true) return new Date(0);
    return row?.at instanceof Date ? row.at : null;
  }

  /** Appends one scheduling decision to the trigger's history, in the caller's transaction. */
  async addEvent(c: Queryable, e: { triggerId: string; at: Date; executionDate: Date | null; decision: TriggerDecision; runId?: string | null; message: string }): Promise<void> {
    await c.query('INSERT INTO trigger_events (trigger_id, at, execution_date, decision, run_id, message) VALUES ($1,$2,$3,$4,$5,$6)', [
      e.triggerId,
      e.at,
      e.executionDate,
      e.decision,
      e.runId ?? null,
      e.message,
    ]);
  }

  /** The trigger's latest `limit` decisions, newest first. */
  async events(triggerId: string, limit = 20): Promise<TriggerEventRow[]> {
    const res = await this.db.pool.query('SELECT * FROM trigger_events WHERE trigger_id = $1 ORDER BY id DESC LIMIT $2', [triggerId, limit]);
    return rows(triggerEventRow, res.rows);
  }
}
