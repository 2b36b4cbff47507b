import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { type JsonObject } from '../pipeline/model';
import { type Trigger } from '../pipeline/triggers';
import { type BlockRunStatus, type PipelineRunStatus } from '../run/states';
import { MIGRATIONS } from './migrations';
import { type Queryable, RunQueue } from './run-queue';
import {
  attemptRow,
  backfillRow,
  blockRunRow,
  logRow,
  rows,
  runEventRow,
  runRow,
  triggerEventRow,
  triggerRow,
  type AttemptRow,
  type BackfillRow,
  type BlockRunRow,
  type LogRow,
  type RunEventRow,
  type RunKind,
  type RunRow,
  type TriggerDecision,
  type TriggerEventRow,
  type TriggerRow,
} from './types';

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface StoreOptions {
  /** postgres:// URL of the server (embedded or DATABASE_URL). */
  url: string;
  /** Every table lives in this schema (tests use one per file). */
  schema?: string;
  poolSize?: number;
  /** Run pg-boss maintenance (expiry, archiving) from this process: the orchestrating ones do. */
  maintainQueue?: boolean;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]*$/;

export interface NewRun {
  project: string;
  pipeline: string;
  triggerId?: string | null;
  backfillId?: string | null;
  kind: RunKind;
  executionDate: Date;
  variables?: JsonObject;
  timeoutSeconds?: number | null;
  notBefore?: Date;
}

export interface RunFilter {
  project?: string;
  pipeline?: string;
  triggerId?: string;
  backfillId?: string;
  status?: PipelineRunStatus;
  kind?: RunKind;
  limit?: number;
}

export interface RunDetail {
  run: RunRow;
  blocks: BlockRunRow[];
  attempts: AttemptRow[];
  events: RunEventRow[];
}

export type { Queryable } from './run-queue';

/**
 * NOTIFY channels: `runs` rings workers, `cancel` names a run to stop, `triggers` wakes the
 * scheduler, `run_changes` (from table triggers, migration 2) tells servers a run changed,
 * `access_changes` (migration 3) that users, sessions or tokens changed.
 */
export type Channel = 'runs' | 'cancel' | 'triggers' | 'run_changes' | 'access_changes';

// A waiting run may start when its trigger's run limit and its backfill's concurrency leave room.
const CLAIMABLE_FROM = `pipeline_runs r LEFT JOIN triggers t ON t.id = r.trigger_id LEFT JOIN backfills b ON b.id = r.backfill_id`;
const CLAIMABLE = `r.status = 'initial'
  AND (t.id IS NULL OR (t.settings->>'run_limit') IS NULL
       OR (SELECT count(*) FROM pipeline_runs x WHERE x.trigger_id = r.trigger_id AND x.status = 'running') < (t.settings->>'run_limit')::int)
  AND (b.id IS NULL OR (SELECT count(*) FROM pipeline_runs x WHERE x.backfill_id = r.backfill_id AND x.status = 'running') < b.concurrency)`;

/**
 * The metadata store: pipeline runs, block runs with every transition and attempt, logs, triggers
 * and backfills in Postgres. Every method is one statement or one transaction; the database is the
 * truth that schedulers and workers (in this process or others) coordinate through.
 */
export class Store {
  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    readonly url: string,
    readonly queue: RunQueue,
  ) {}

  static async open(options: StoreOptions): Promise<Store> {
    const schema = options.schema ?? 'grimoire';
    if (!SCHEMA_PATTERN.test(schema)) throw new StoreError(`schema name "${schema}" must be lower-case letters, digits and _`);
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 8, options: `-c search_path=${schema}`, connectionTimeoutMillis: 15_000 });
    // An idle client losing its server (restart) must not crash the process.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, schema);
      const queue = await RunQueue.open(pool, `${schema}_queue`, { maintain: options.maintainQueue ?? false });
      return new Store(pool, schema, options.url, queue);
    } catch (e) {
      await pool.end();
      throw new StoreError(`could not prepare the metadata store in schema ${schema}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Applies the migrations not yet applied (see `migrate`). */
  async migrate(): Promise<number[]> {
    return migrate(this.pool, this.schema);
  }

  async appliedMigrations(): Promise<number[]> {
    return (await this.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
  }

  async tx<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** NOTIFY channel of this store (per schema, so tests and workspaces never hear each other). */
  channel(name: Channel): string {
    return `${this.schema}_${name}`;
  }

  async notify(name: Channel, payload = '', on: Queryable = this.pool): Promise<void> {
    await on.query('SELECT pg_notify($1, $2)', [this.channel(name), payload]);
  }

  /** A dedicated connection LISTENing on the channels; returns a stop function. */
  async listen(names: readonly Channel[], onNotify: (name: string, payload: string) => void): Promise<() => Promise<void>> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('error', () => undefined);
    await client.connect();
    const byChannel = new Map(names.map((n) => [this.channel(n), n]));
    client.on('notification', (m) => {
      const name = byChannel.get(m.channel);
      if (name) onNotify(name, m.payload ?? '');
    });
    for (const channel of byChannel.keys()) await client.query(`LISTEN ${channel}`);
    return async () => {
      await client.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.pool.end();
  }

  /** Gives a run a job in the queue (in the caller's transaction) and rings the workers' doorbell. */
  async enqueue(runId: string, on: Queryable = this.pool, startAfter?: Date): Promise<void> {
    await this.queue.enqueue(runId, on, startAfter);
    await this.notify('runs', runId, on);
  }

  /** A run left its trigger's or backfill's slot: the oldest run waiting for that slot gets a job. */
  private async enqueueWaitingOf(runId: string, on: Queryable): Promise<void> {
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
    for (const r of res.rows) await this.enqueue(r.id, on);
  }

  /**
   * Gives a job to every claimable run that has waited longer than `idleMs` without a change: the
   * safety net for runs whose job was spent while a limit held them (a limit raised by hand) or that
   * were queued before this store had a queue. A spare job costs one failed claim.
   */
  async enqueueIdleRuns(idleMs: number): Promise<number> {
    const res = await this.pool.query<{ id: string }>(
      `SELECT r.id FROM ${CLAIMABLE_FROM} WHERE ${CLAIMABLE}
          AND COALESCE((SELECT max(e.at) FROM run_events e WHERE e.run_id = r.id), r.created_at) <= now() - make_interval(secs => $1)
        ORDER BY r.execution_date, r.created_at LIMIT 100`,
      [idleMs / 1000],
    );
    for (const r of res.rows) await this.enqueue(r.id, this.pool);
    return res.rows.length;
  }

  // ---- triggers ---------------------------------------------------------------------------------

  /**
   * Makes the stored triggers of a pipeline match its triggers.yaml. Scheduler state (cursor, token)
   * survives edits; a trigger removed from the file is kept (its runs refer to it) but no longer fires.
   */
  async syncTriggers(project: string, pipeline: string, triggers: readonly Trigger[], now: Date): Promise<TriggerRow[]> {
    return this.tx(async (c) => {
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
      await this.notify('triggers', '', c);
      return out;
    });
  }

  /** A triggers.yaml that cannot be read: its triggers keep their last good definition and show why. */
  async markTriggerFileInvalid(project: string, pipeline: string, message: string): Promise<void> {
    await this.pool.query('UPDATE triggers SET definition_error = $3 WHERE project = $1 AND pipeline = $2 AND in_file', [project, pipeline, message]);
  }

  async listTriggers(filter: { project?: string; pipeline?: string; includeRemoved?: boolean } = {}): Promise<TriggerRow[]> {
    const res = await this.pool.query(
      `SELECT * FROM triggers WHERE ($1::text IS NULL OR project = $1) AND ($2::text IS NULL OR pipeline = $2) AND ($3 OR in_file) ORDER BY project, pipeline, name`,
      [filter.project ?? null, filter.pipeline ?? null, filter.includeRemoved ?? false],
    );
    return rows(triggerRow, res.rows);
  }

  async getTrigger(project: string, pipeline: string, name: string): Promise<TriggerRow | null> {
    const res = await this.pool.query('SELECT * FROM triggers WHERE project = $1 AND pipeline = $2 AND name = $3', [project, pipeline, name]);
    return rows(triggerRow, res.rows)[0] ?? null;
  }

  async getTriggerById(id: string): Promise<TriggerRow | null> {
    const res = await this.pool.query('SELECT * FROM triggers WHERE id = $1', [id]);
    return rows(triggerRow, res.rows)[0] ?? null;
  }

  async setTriggerTokenHash(id: string, hash: string, at: Date): Promise<void> {
    await this.pool.query('UPDATE triggers SET token_hash = $2, token_created_at = $3 WHERE id = $1', [id, hash, at]);
  }

  /** Triggers due for a scheduling decision, locked for this transaction; others skip them. */
  async claimDueTriggers(c: pg.PoolClient, now: Date, limit = 100): Promise<TriggerRow[]> {
    const res = await c.query(
      `SELECT * FROM triggers
        WHERE schedule_type = 'time' AND status = 'active' AND in_file AND (next_check_at IS NULL OR next_check_at <= $1)
        ORDER BY next_check_at NULLS FIRST LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    return rows(triggerRow, res.rows);
  }

  async advanceTrigger(c: pg.PoolClient, id: string, cursor: Date | null, nextCheck: Date | null, firstActiveAt: Date): Promise<void> {
    await c.query('UPDATE triggers SET cursor_execution_date = $2, next_check_at = $3, first_active_at = COALESCE(first_active_at, $4) WHERE id = $1', [id, cursor, nextCheck, firstActiveAt]);
  }

  /** The earliest next_check_at of the triggers that can fire: when the scheduler must wake. */
  async nextTriggerCheck(): Promise<Date | null> {
    const res = await this.pool.query<{ at: Date | null }>(
      `SELECT min(COALESCE(next_check_at, '-infinity'::timestamptz)) AS at FROM triggers WHERE schedule_type = 'time' AND status = 'active' AND in_file`,
    );
    const at = res.rows[0]?.at ?? null;
    if (at === null) return null;
    return Number.isFinite(at.getTime()) ? at : new Date(0);
  }

  async addTriggerEvent(c: Queryable, e: { triggerId: string; at: Date; executionDate: Date | null; decision: TriggerDecision; runId?: string | null; message: string }): Promise<void> {
    await c.query('INSERT INTO trigger_events (trigger_id, at, execution_date, decision, run_id, message) VALUES ($1,$2,$3,$4,$5,$6)', [
      e.triggerId,
      e.at,
      e.executionDate,
      e.decision,
      e.runId ?? null,
      e.message,
    ]);
  }

  async triggerEvents(triggerId: string, limit = 20): Promise<TriggerEventRow[]> {
    const res = await this.pool.query('SELECT * FROM trigger_events WHERE trigger_id = $1 ORDER BY id DESC LIMIT $2', [triggerId, limit]);
    return rows(triggerEventRow, res.rows);
  }

  async activeRunCount(c: Queryable, triggerId: string): Promise<number> {
    const res = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pipeline_runs WHERE trigger_id = $1 AND status IN ('initial', 'running')`, [triggerId]);
    return Number(res.rows[0]?.n ?? 0);
  }

  // ---- runs -------------------------------------------------------------------------------------

  /**
   * Creates a run in status initial. A scheduled run for an execution that already has one is not
   * created again (the unique key decides, whoever asks): then null is returned.
   */
  async createRun(run: NewRun, on: Queryable = this.pool): Promise<RunRow | null> {
    const id = randomUUID();
    const res = await on.query(
      `INSERT INTO pipeline_runs (id, project, pipeline, trigger_id, backfill_id, kind, execution_date, status, variables, timeout_seconds, not_before, created_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,'initial',$8,$9, COALESCE($10, now()), now())
       ON CONFLICT DO NOTHING RETURNING *`,
      [id, run.project, run.pipeline, run.triggerId ?? null, run.backfillId ?? null, run.kind, run.executionDate, JSON.stringify(run.variables ?? {}), run.timeoutSeconds ?? null, run.notBefore ?? null],
    );
    const created = rows(runRow, res.rows)[0] ?? null;
    if (created) {
      await on.query(`INSERT INTO run_events (run_id, status, at, message) VALUES ($1, 'initial', now(), $2)`, [id, `created (${run.kind})`]);
      // A backfill's runs beyond its concurrency get their jobs as slots free up.
      if (run.kind !== 'backfill') await this.enqueue(id, on, run.notBefore);
    }
    return created;
  }

  async getRun(id: string): Promise<RunRow | null> {
    const res = await this.pool.query('SELECT * FROM pipeline_runs WHERE id = $1', [id]);
    return rows(runRow, res.rows)[0] ?? null;
  }

  async getRunDetail(id: string): Promise<RunDetail | null> {
    const run = await this.getRun(id);
    if (!run) return null;
    const [blocks, attempts, events] = await Promise.all([
      this.pool.query('SELECT * FROM block_runs WHERE run_id = $1 ORDER BY position', [id]),
      this.pool.query('SELECT a.*, b.block_uuid FROM block_run_attempts a JOIN block_runs b ON b.id = a.block_run_id WHERE b.run_id = $1 ORDER BY a.started_at, a.id', [id]),
      this.pool.query('SELECT * FROM run_events WHERE run_id = $1 ORDER BY id', [id]),
    ]);
    return { run, blocks: rows(blockRunRow, blocks.rows), attempts: rows(attemptRow, attempts.rows), events: rows(runEventRow, events.rows) };
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRow[]> {
    const res = await this.pool.query(
      `SELECT * FROM pipeline_runs
        WHERE ($1::text IS NULL OR project = $1) AND ($2::text IS NULL OR pipeline = $2) AND ($3::text IS NULL OR trigger_id = $3)
          AND ($4::text IS NULL OR status = $4) AND ($5::text IS NULL OR kind = $5) AND ($6::text IS NULL OR backfill_id = $6)
        ORDER BY created_at DESC, execution_date DESC LIMIT $7`,
      [filter.project ?? null, filter.pipeline ?? null, filter.triggerId ?? null, filter.status ?? null, filter.kind ?? null, filter.backfillId ?? null, filter.limit ?? 100],
    );
    return rows(runRow, res.rows);
  }

  async runsOfTriggerAt(triggerId: string, executionDate: Date): Promise<RunRow[]> {
    const res = await this.pool.query('SELECT * FROM pipeline_runs WHERE trigger_id = $1 AND execution_date = $2', [triggerId, executionDate]);
    return rows(runRow, res.rows);
  }

  /**
   * Claims a run for a worker when its job arrives: only from initial, FOR UPDATE SKIP LOCKED so
   * two workers holding jobs for one run never both take it, and only while the trigger's run
   * limit and the backfill's concurrency leave room (else it waits in initial for a freed slot).
   * The claim lock serialises the limit counts across workers.
   */
  async claimRun(runId: string, workerId: string, now: Date): Promise<RunRow | null> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`grimoire.claim.${this.schema}`]);
      const res = await c.query(
        `WITH candidate AS (SELECT r.id FROM ${CLAIMABLE_FROM} WHERE r.id = $3 AND ${CLAIMABLE} FOR UPDATE OF r SKIP LOCKED)
         UPDATE pipeline_runs r SET status = 'running', worker_id = $1, attempt = r.attempt + 1, started_at = COALESCE(r.started_at, $2)
           FROM candidate WHERE r.id = candidate.id RETURNING r.*`,
        [workerId, now, runId],
      );
      const run = rows(runRow, res.rows)[0] ?? null;
      if (run) await c.query(`INSERT INTO run_events (run_id, status, attempt, at, message) VALUES ($1, 'running', $2, $3, $4)`, [run.id, run.attempt, now, `claimed by worker ${workerId}`]);
      return run;
    });
  }

  async setRunStatus(runId: string, status: PipelineRunStatus, at: Date, message?: string, on?: Queryable): Promise<void> {
    // Its follow-ups (the next waiting run's job, the backfill's end) belong to the same transaction.
    if (!on) return this.tx((c) => this.setRunStatus(runId, status, at, message, c));
    const finished = status === 'completed' || status === 'failed' || status === 'cancelled';
    await on.query(`UPDATE pipeline_runs SET status = $2, completed_at = CASE WHEN $4 THEN $3::timestamptz ELSE NULL END, error = $5 WHERE id = $1`, [
      runId,
      status,
      at,
      finished,
      status === 'failed' || status === 'cancelled' ? (message ?? null) : null,
    ]);
    await on.query('INSERT INTO run_events (run_id, status, at, message) VALUES ($1,$2,$3,$4)', [runId, status, at, message ?? null]);
    if (finished) {
      // A finished run frees a slot (run limits, backfill concurrency) for the next one waiting,
      // and may finish its backfill: both in the same transaction, so no reader sees them disagree.
      await this.enqueueWaitingOf(runId, on);
      await this.settleBackfillOf(runId, at, on);
    }
  }

  /** Block runs for the planned blocks (kept when they exist: a resumed run keeps its history). */
  async ensureBlockRuns(runId: string, blocks: readonly string[]): Promise<BlockRunRow[]> {
    await this.pool.query(
      `INSERT INTO block_runs (run_id, block_uuid, position, status)
       SELECT $1, b, p::int - 1, 'initial' FROM unnest($2::text[]) WITH ORDINALITY AS t(b, p)
       ON CONFLICT (run_id, block_uuid) DO NOTHING`,
      [runId, blocks],
    );
    return this.blockRuns(runId);
  }

  async blockRuns(runId: string): Promise<BlockRunRow[]> {
    const res = await this.pool.query('SELECT * FROM block_runs WHERE run_id = $1 ORDER BY position', [runId]);
    return rows(blockRunRow, res.rows);
  }

  /** One block-run transition, stored with its time in the append-only history. */
  async setBlockStatus(
    runId: string,
    block: string,
    status: BlockRunStatus,
    at: Date,
    extra: { attempt?: number; message?: string; error?: JsonObject | null; rowCount?: number } = {},
    on: Queryable = this.pool,
  ): Promise<void> {
    await on.query(
      `UPDATE block_runs SET status = $3,
         started_at = CASE WHEN $3 = 'running' AND started_at IS NULL THEN $4 ELSE started_at END,
         completed_at = CASE WHEN $3 IN ('completed', 'failed', 'cancelled', 'upstream_failed') THEN $4 WHEN $3 IN ('queued', 'initial', 'running') THEN NULL ELSE completed_at END,
         attempts = GREATEST(attempts, COALESCE($5, 0)),
         error = CASE WHEN $3 IN ('failed', 'cancelled') THEN COALESCE($6, error) WHEN $3 IN ('queued', 'completed') THEN NULL ELSE error END,
         row_count = COALESCE($7, row_count)
       WHERE run_id = $1 AND block_uuid = $2`,
      [runId, block, status, at, extra.attempt ?? null, extra.error ? JSON.stringify(extra.error) : null, extra.rowCount ?? null],
    );
    await on.query('INSERT INTO run_events (run_id, block_uuid, status, attempt, at, message) VALUES ($1,$2,$3,$4,$5,$6)', [runId, block, status, extra.attempt ?? null, at, extra.message ?? null]);
  }

  async startAttempt(runId: string, block: string, attempt: number, at: Date): Promise<void> {
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO block_run_attempts (block_run_id, attempt, status, started_at)
         SELECT id, $3, 'running', $4 FROM block_runs WHERE run_id = $1 AND block_uuid = $2
         ON CONFLICT (block_run_id, attempt) DO UPDATE SET status = 'running', started_at = EXCLUDED.started_at, finished_at = NULL, error = NULL`,
        [runId, block, attempt, at],
      );
      await this.setBlockStatus(runId, block, 'running', at, { attempt, message: `attempt ${attempt}` }, c);
    });
  }

  async finishAttempt(runId: string, block: string, attempt: number, status: 'completed' | 'failed' | 'cancelled', at: Date, durationMs: number, error: JsonObject | null): Promise<void> {
    await this.pool.query(
      `UPDATE block_run_attempts a SET status = $4, finished_at = $5, duration_ms = $6, error = $7
         FROM block_runs b WHERE b.id = a.block_run_id AND b.run_id = $1 AND b.block_uuid = $2 AND a.attempt = $3`,
      [runId, block, attempt, status, at, durationMs, error ? JSON.stringify(error) : null],
    );
  }

  async appendLogs(lines: readonly { runId: string; block: string; attempt: number; at: Date; stream: string; text: string }[]): Promise<void> {
    if (lines.length === 0) return;
    await this.pool.query(
      `INSERT INTO run_logs (run_id, block_uuid, attempt, at, stream, text)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $6::text[])`,
      [lines.map((l) => l.runId), lines.map((l) => l.block), lines.map((l) => l.attempt), lines.map((l) => l.at), lines.map((l) => l.stream), lines.map((l) => l.text)],
    );
  }

  /** Log lines of a run (optionally one block), after an id (for streaming) or matching a search. */
  async logs(runId: string, filter: { block?: string; afterId?: number; search?: string; limit?: number } = {}): Promise<LogRow[]> {
    const res = await this.pool.query(
      `SELECT * FROM run_logs WHERE run_id = $1 AND ($2::text IS NULL OR block_uuid = $2) AND id > $3
         AND ($4::text IS NULL OR text ILIKE '%' || replace(replace(replace($4, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')
       ORDER BY id LIMIT $5`,
      [runId, filter.block ?? null, filter.afterId ?? 0, filter.search ?? null, filter.limit ?? 5000],
    );
    return rows(logRow, res.rows);
  }

  // ---- cancel, retry, recovery ------------------------------------------------------------------

  /** Cancels a run: one that waits is cancelled here; a running one is stopped by its worker. */
  async requestCancel(runId: string, at: Date): Promise<RunRow | null> {
    const run = await this.tx(async (c) => {
      const res = await c.query(`SELECT * FROM pipeline_runs WHERE id = $1 FOR UPDATE`, [runId]);
      const run = rows(runRow, res.rows)[0];
      if (!run) return null;
      if (run.status === 'initial') {
        await c.query(`UPDATE block_runs SET status = 'cancelled', completed_at = $2 WHERE run_id = $1 AND status IN ('initial', 'queued')`, [runId, at]);
        await this.setRunStatus(runId, 'cancelled', at, 'cancelled before it started', c);
      } else if (run.status === 'running') {
        await c.query('UPDATE pipeline_runs SET cancel_requested = true WHERE id = $1', [runId]);
        await c.query(`INSERT INTO run_events (run_id, status, at, message) VALUES ($1, 'running', $2, 'cancel requested')`, [runId, at]);
        await this.notify('cancel', runId, c);
      }
      return run;
    });
    return run ? this.getRun(runId) : null;
  }

  /** Starts a finished, unsuccessful run again from its failed, cancelled and upstream_failed blocks. */
  async retryFromFailed(runId: string, at: Date): Promise<RunRow | null> {
    await this.tx(async (c) => {
      const res = await c.query('SELECT * FROM pipeline_runs WHERE id = $1 FOR UPDATE', [runId]);
      const run = rows(runRow, res.rows)[0];
      if (!run) return;
      if (run.status !== 'failed' && run.status !== 'cancelled') throw new StoreError(`run ${runId} is ${run.status}: only a failed or cancelled run can be retried`);
      const blocks = rows(blockRunRow, (await c.query(`SELECT * FROM block_runs WHERE run_id = $1 AND status IN ('failed', 'cancelled', 'upstream_failed', 'initial')`, [runId])).rows);
      for (const b of blocks) await this.setBlockStatus(runId, b.block_uuid, 'queued', at, { message: 'retry of the run' }, c);
      // A retried run gets a fresh retry budget for each block it runs again.
      await c.query(`UPDATE block_runs SET attempt_base = attempts WHERE run_id = $1 AND status = 'queued'`, [runId]);
      await c.query(`UPDATE pipeline_runs SET status = 'initial', completed_at = NULL, error = NULL, cancel_requested = false, not_before = $2, worker_id = NULL WHERE id = $1`, [runId, at]);
      await c.query(`INSERT INTO run_events (run_id, status, at, message) VALUES ($1, 'initial', $2, 'retry from the failed blocks')`, [runId, at]);
      await this.enqueue(runId, c);
    });
    return this.getRun(runId);
  }

  /** Puts a running run back in the queue (its worker stopped); completed blocks stay completed. */
  async requeueRun(runId: string, at: Date, message: string, on: Queryable = this.pool): Promise<void> {
    await on.query(`UPDATE pipeline_runs SET status = 'initial', worker_id = NULL, not_before = $2 WHERE id = $1 AND status = 'running'`, [runId, at]);
    await on.query(`INSERT INTO run_events (run_id, status, at, message) VALUES ($1, 'initial', $2, $3)`, [runId, at, message]);
    await this.enqueue(runId, on);
  }

  /**
   * Resolves a run whose worker died: each block attempt that was running is recorded as failed
   * (the worker was lost) and the run goes back to the queue, where the executor retries those
   * blocks or fails them by their retry_config. Locked, so two recovering workers resolve it once.
   */
  async recoverOrphan(runId: string, deadWorker: string, at: Date): Promise<boolean> {
    return this.tx(async (c) => {
      const res = await c.query(`SELECT * FROM pipeline_runs WHERE id = $1 AND status = 'running' AND worker_id = $2 FOR UPDATE SKIP LOCKED`, [runId, deadWorker]);
      if (res.rows.length === 0) return false;
      const lost = rows(blockRunRow, (await c.query(`SELECT * FROM block_runs WHERE run_id = $1 AND status = 'running'`, [runId])).rows);
      const error = { kind: 'kernel_died', message: `the worker running this block stopped (process ${deadWorker} exited) during attempt` };
      for (const b of lost) {
        await c.query(`UPDATE block_run_attempts SET status = 'failed', finished_at = $2, error = $3 WHERE block_run_id = $1 AND attempt = $4 AND status = 'running'`, [b.id, at, JSON.stringify(error), b.attempts]);
        await this.setBlockStatus(runId, b.block_uuid, 'failed', at, { attempt: b.attempts, error, message: error.message }, c);
        await this.setBlockStatus(runId, b.block_uuid, 'queued', at, { attempt: b.attempts, message: 'recovered after a restart: retried if its retry_config allows' }, c);
      }
      await this.requeueRun(runId, at, `recovered: worker ${deadWorker} stopped while the run was running`, c);
      return true;
    });
  }

  /** Runs that are `running` on some worker: recovery checks each worker is still alive. */
  async runningRuns(): Promise<RunRow[]> {
    const res = await this.pool.query(`SELECT * FROM pipeline_runs WHERE status = 'running' ORDER BY started_at`);
    return rows(runRow, res.rows);
  }

  async isCancelRequested(runId: string): Promise<boolean> {
    const res = await this.pool.query<{ cancel_requested: boolean }>('SELECT cancel_requested FROM pipeline_runs WHERE id = $1', [runId]);
    return res.rows[0]?.cancel_requested ?? false;
  }

  // ---- backfills --------------------------------------------------------------------------------

  async createBackfill(b: Omit<BackfillRow, 'id' | 'status' | 'created_at' | 'completed_at'>, runs: readonly { executionDate: Date; variables: JsonObject }[]): Promise<BackfillRow> {
    return this.tx(async (c) => {
      const id = randomUUID();
      const res = await c.query(
        `INSERT INTO backfills (id, project, pipeline, name, start_datetime, end_datetime, interval_unit, interval_value, concurrency, variables, status)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'running') RETURNING *`,
        [id, b.project, b.pipeline, b.name, b.start_datetime, b.end_datetime, b.interval_unit, b.interval_value, b.concurrency, JSON.stringify(b.variables)],
      );
      const created: string[] = [];
      for (const r of runs) {
        const run = await this.createRun({ project: b.project, pipeline: b.pipeline, backfillId: id, kind: 'backfill', executionDate: r.executionDate, variables: r.variables }, c);
        if (run) created.push(run.id);
      }
      // The first `concurrency` runs start now; each one that finishes hands its slot on.
      for (const runId of created.slice(0, b.concurrency)) await this.enqueue(runId, c);
      return rows(backfillRow, res.rows)[0]!;
    });
  }

  async listBackfills(project: string, pipeline: string): Promise<BackfillRow[]> {
    const res = await this.pool.query('SELECT * FROM backfills WHERE project = $1 AND pipeline = $2 ORDER BY created_at DESC', [project, pipeline]);
    return rows(backfillRow, res.rows);
  }

  async getBackfill(id: string): Promise<BackfillRow | null> {
    const res = await this.pool.query('SELECT * FROM backfills WHERE id = $1', [id]);
    return rows(backfillRow, res.rows)[0] ?? null;
  }

  /** Run counts per status of a backfill, for its progress bar. */
  async backfillProgress(id: string, on: Queryable = this.pool): Promise<Record<PipelineRunStatus, number>> {
    const res = await on.query<{ status: PipelineRunStatus; n: string }>('SELECT status, count(*) AS n FROM pipeline_runs WHERE backfill_id = $1 GROUP BY status', [id]);
    const out: Record<PipelineRunStatus, number> = { initial: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const r of res.rows) out[r.status] = Number(r.n);
    return out;
  }

  /** Marks a run's backfill finished once none of its runs is left to run (whichever way the last one ended). */
  private async settleBackfillOf(runId: string, at: Date, on: Queryable): Promise<void> {
    const res = await on.query<{ backfill_id: string | null }>('SELECT backfill_id FROM pipeline_runs WHERE id = $1', [runId]);
    const id = res.rows[0]?.backfill_id;
    if (!id) return;
    // Two runs finishing at once: the second waits here, then counts with the first one committed.
    await on.query('SELECT 1 FROM backfills WHERE id = $1 FOR UPDATE', [id]);
    const p = await this.backfillProgress(id, on);
    if (p.initial + p.running > 0) return;
    const status = p.failed > 0 ? 'failed' : p.cancelled > 0 ? 'cancelled' : 'completed';
    await on.query(`UPDATE backfills SET status = $2, completed_at = $3 WHERE id = $1 AND status = 'running'`, [id, status, at]);
  }
}

/** Applies the migrations not yet applied, in one transaction under a lock so two processes cannot race. */
async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const applied: number[] = [];
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`grimoire.migrate.${schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
  return applied;
}
