import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_QUEUE } from '../pipeline/executor-config';
import { type JsonObject } from '../pipeline/model';
import { type PipelineRunStatus } from '../run/states';
import { type BlockRunRepository } from './block-run-repository';
import { StoreError, type Db, type Queryable } from './db';
import { type JobQueue } from './job-queue';
import { quotePgEscapeLiteral } from '../sql-quote';
import { CLAIMABLE, CLAIMABLE_FROM, runsWaitingForSlotsOf, settleBackfillOf } from './slots';
import { ACTIVE_RUN_STATUSES, RETRYABLE_BLOCK_STATUSES, WAITING_BLOCK_STATUSES, isRunFinished, runCompletedAt } from './state-columns';
import {
  attemptRow,
  blockRunRow,
  rows,
  runEventRow,
  runRow,
  type AttemptRow,
  type BlockRunRow,
  type RunEventRow,
  type RunKind,
  type RunRow,
  LIVE_RUN_KINDS,
} from './types';

/** The rows of one statement's result (the last of a simple query's results). */
const queryRows = z.object({ rows: z.array(z.unknown()) });

/** How a block attempt whose worker died is described (and found again when losses are counted). */
const WORKER_LOST = 'the worker running this block stopped';
/** Worker losses during one block run that do not spend its retries: past them, a block that kills its worker stops being retried for free. */
const MAX_FREE_LOSSES = 3;

export interface NewRun {
  project: string;
  pipeline: string;
  triggerId?: string | null;
  backfillId?: string | null;
  kind: RunKind;
  executionDate: Date;
  variables?: JsonObject;
  timeoutSeconds?: number | null;
  /** Not started before this time (its job is delayed to it too); default now. */
  notBefore?: Date;
  /** A user id, `cli:<os user>`; null for a schedule. */
  startedBy?: string | null;
}

/** A run driven by the process that starts it (the editor, `grimoire run`), not by a worker. */
export interface NewLiveRun {
  id: string;
  project: string;
  pipeline: string;
  kind: 'editor' | 'cli';
  executionDate: Date;
  variables: JsonObject;
  startedBy: string | null;
  /**
   * The process that drives it, holding its liveness lock (lib/store/presence.ts) for as long as
   * it lives: when it dies, recovery fails the run instead of leaving it running.
   */
  ownerId: string;
  /** The planned blocks, in order. */
  blocks: readonly string[];
}

export interface RunFilter {
  project?: string;
  pipeline?: string;
  triggerId?: string;
  backfillId?: string;
  status?: PipelineRunStatus;
  kind?: RunKind;
  /** Default 100. */
  limit?: number;
}

export interface RunDetail {
  run: RunRow;
  blocks: BlockRunRow[];
  attempts: AttemptRow[];
  events: RunEventRow[];
}

/**
 * Pipeline runs from creation to their end: their jobs in the queue, the claim by a worker, status
 * changes with what they free (the next waiting run's slot, the end of a backfill), cancel, retry,
 * and the recovery of runs whose worker died.
 */
export class RunRepository {
  constructor(
    private readonly db: Db,
    private readonly queue: JobQueue<Queryable>,
    private readonly blockRuns: BlockRunRepository,
  ) {}

  /** Gives a run a job in its queue (pipeline_runs.queue; in the caller's transaction) and rings the workers' doorbell. */
  async enqueue(runId: string, on: Queryable = this.db.pool, startAfter?: Date, queue?: string): Promise<void> {
    const res = queue === undefined ? await on.query<{ queue: string }>('SELECT queue FROM pipeline_runs WHERE id = $1', [runId]) : null;
    await this.queue.enqueue(runId, { in: on, startAfter, queue: queue ?? res?.rows[0]?.queue ?? DEFAULT_QUEUE });
    await this.db.notify('runs', runId, on);
  }

  /**
   * Gives a job to every claimable run that has waited longer than `idleMs` without a change: the
   * safety net for runs whose job was spent while a limit held them (a limit raised by hand) or that
   * were queued before this store had a queue. A spare job costs one failed claim. Returns how many
   * runs got one (at most 100 per call).
   */
  async enqueueIdle(idleMs: number): Promise<number> {
    const res = await this.db.pool.query<{ id: string }>(
      `SELECT r.id FROM ${CLAIMABLE_FROM} WHERE ${CLAIMABLE}
          AND COALESCE((SELECT max(e.at) FROM run_events e WHERE e.run_id = r.id), r.created_at) <= now() - make_interval(secs => $1)
        ORDER BY r.execution_date, r.created_at LIMIT 100`,
      [idleMs / 1000],
    );
    for (const r of res.rows) await this.enqueue(r.id, this.db.pool);
    return res.rows.length;
  }

  /** Runs of a trigger not yet finished (waiting or running), counted in the caller's transaction. */
  async countActive(c: Queryable, triggerId: string): Promise<number> {
    const res = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pipeline_runs WHERE trigger_id = $1 AND status = ANY($2::text[])`, [triggerId, ACTIVE_RUN_STATUSES]);
    return Number(res.rows[0]?.n ?? 0);
  }

  /**
   * Creates a run in status initial. A scheduled run for an execution that already has one is not
   * created again (the unique key decides, whoever asks): then null is returned.
   */
  async create(run: NewRun, on: Queryable = this.db.pool): Promise<RunRow | null> {
    const id = randomUUID();
    // The run and its first event in one statement: the way to a run's first block is measured.
    const res = await on.query(
      `WITH created AS (
         INSERT INTO pipeline_runs (id, project, pipeline, trigger_id, backfill_id, kind, execution_date, status, variables, timeout_seconds, not_before, created_at, started_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,'initial',$8,$9, COALESCE($10, now()), now(), $11)
         ON CONFLICT DO NOTHING RETURNING *),
       event AS (INSERT INTO run_events (run_id, status, at, message) SELECT id, 'initial', now(), $12 FROM created)
       SELECT * FROM created`,
      [id, run.project, run.pipeline, run.triggerId ?? null, run.backfillId ?? null, run.kind, run.executionDate, JSON.stringify(run.variables ?? {}), run.timeoutSeconds ?? null, run.notBefore ?? null, run.startedBy ?? null, `created (${run.kind})`],
    );
    const created = rows(runRow, res.rows)[0] ?? null;
    // A backfill's runs beyond its concurrency get their jobs as slots free up.
    if (created && run.kind !== 'backfill') await this.enqueue(id, on, run.notBefore, created.queue);
    return created;
  }

  /**
   * Records a run that its own process starts now (no job: nobody else may claim it), already
   * `running`, with its block runs `initial` in plan order.
   */
  async createLive(run: NewLiveRun): Promise<RunRow> {
    return this.db.tx(async (c) => {
      const res = await c.query(
        `INSERT INTO pipeline_runs (id, project, pipeline, kind, execution_date, status, variables, attempt, worker_id, started_at, created_at, started_by)
         VALUES ($1,$2,$3,$4,$5,'running',$6,1,$7, now(), now(), $8) RETURNING *`,
        [run.id, run.project, run.pipeline, run.kind, run.executionDate, JSON.stringify(run.variables), run.ownerId, run.startedBy],
      );
      await c.query(`INSERT INTO run_events (run_id, status, at, message) VALUES ($1, 'running', now(), $2)`, [run.id, `started (${run.kind})`]);
      await this.blockRuns.ensure(run.id, run.blocks, c);
      const created = rows(runRow, res.rows)[0];
      if (!created) throw new StoreError(`run ${run.id} could not be recorded`);
      return created;
    });
  }

  /** A run by id; null if none. */
  async get(id: string): Promise<RunRow | null> {
    const res = await this.db.pool.query('SELECT * FROM pipeline_runs WHERE id = $1', [id]);
    return rows(runRow, res.rows)[0] ?? null;
  }

  /** A run with its block runs (plan order), attempts (by start) and history (in order); null if none. */
  async detail(id: string): Promise<RunDetail | null> {
    const run = await this.get(id);
    if (!run) return null;
    const [blocks, attempts, events] = await Promise.all([
      this.db.pool.query('SELECT * FROM block_runs WHERE run_id = $1 ORDER BY position', [id]),
      this.db.pool.query('SELECT a.*, b.block_uuid FROM block_run_attempts a JOIN block_runs b ON b.id = a.block_run_id WHERE b.run_id = $1 ORDER BY a.started_at, a.id', [id]),
      this.db.pool.query('SELECT * FROM run_events WHERE run_id = $1 ORDER BY id', [id]),
    ]);
    return { run, blocks: rows(blockRunRow, blocks.rows), attempts: rows(attemptRow, attempts.rows), events: rows(runEventRow, events.rows) };
  }

  /**
   * The latest run of `pipeline` (by execution date, then creation) whose execution date is in
   * [from, to]; null if none. Mage's check_status window.
   */
  async latestForExecutionDate(project: string, pipeline: string, from: Date, to: Date): Promise<RunRow | null> {
    const res = await this.db.pool.query(
      `SELECT * FROM pipeline_runs WHERE project = $1 AND pipeline = $2 AND execution_date BETWEEN $3 AND $4
        ORDER BY execution_date DESC, created_at DESC LIMIT 1`,
      [project, pipeline, from, to],
    );
    return rows(runRow, res.rows)[0] ?? null;
  }

  /** Runs matching every given filter, newest first. */
  async list(filter: RunFilter = {}): Promise<RunRow[]> {
    const res = await this.db.pool.query(
      `SELECT * FROM pipeline_runs
        WHERE ($1::text IS NULL OR project = $1) AND ($2::text IS NULL OR pipeline = $2) AND ($3::text IS NULL OR trigger_id = $3)
          AND ($4::text IS NULL OR status = $4) AND ($5::text IS NULL OR kind = $5) AND ($6::text IS NULL OR backfill_id = $6)
        ORDER BY created_at DESC, execution_date DESC LIMIT $7`,
      [filter.project ?? null, filter.pipeline ?? null, filter.triggerId ?? null, filter.status ?? null, filter.kind ?? null, filter.backfillId ?? null, filter.limit ?? 100],
    );
    return rows(runRow, res.rows);
  }

  /** The runs of a trigger for one execution date (one scheduled run at most; API runs may share it). */
  async ofTriggerAt(triggerId: string, executionDate: Date): Promise<RunRow[]> {
    const res = await this.db.pool.query('SELECT * FROM pipeline_runs WHERE trigger_id = $1 AND execution_date = $2', [triggerId, executionDate]);
    return rows(runRow, res.rows);
  }

  /**
   * Claims a run for a worker when its job arrives: only from initial, FOR UPDATE SKIP LOCKED so
   * two workers holding jobs for one run never both take it, and only while the trigger's run
   * limit and the backfill's concurrency leave room (else it waits in initial for a freed slot).
   * The claim lock serialises the limit counts across workers. Null when the run cannot be claimed.
   * A run this worker already claimed is returned as it is (a claim whose reply was lost with its
   * connection, tried again by the reconnecting pool: the worker checks it does not run it yet).
   *
   * One round trip, because it is on the way from a run's creation to its first block: the lock,
   * then the claim and its event, sent as one simple query, which PostgreSQL runs as one implicit
   * transaction (the lock is held to its end) with a snapshot per statement (the claim sees every
   * claim committed before the lock was granted). The values are escape-string literals
   * (sql-quote.ts), whatever standard_conforming_strings says: the simple protocol takes no parameters.
   */
  async claim(runId: string, workerId: string, now: Date): Promise<RunRow | null> {
    const at = `${quotePgEscapeLiteral(now.toISOString())}::timestamptz`;
    const sql = `SELECT pg_advisory_xact_lock(hashtextextended(${quotePgEscapeLiteral(`grimoire.claim.${this.db.schema}`)}, 0));
      WITH candidate AS (SELECT r.id FROM ${CLAIMABLE_FROM} WHERE r.id = ${quotePgEscapeLiteral(runId)} AND ${CLAIMABLE} FOR UPDATE OF r SKIP LOCKED),
        claimed AS (
          UPDATE pipeline_runs r SET status = 'running', worker_id = ${quotePgEscapeLiteral(workerId)}, attempt = r.attempt + 1, started_at = COALESCE(r.started_at, ${at})
            FROM candidate WHERE r.id = candidate.id RETURNING r.*),
        event AS (
          INSERT INTO run_events (run_id, status, attempt, at, message)
            SELECT id, 'running', attempt, ${at}, ${quotePgEscapeLiteral(`claimed by worker ${workerId}`)} FROM claimed)
      SELECT * FROM claimed`;
    const results: unknown = await this.db.pool.query(sql);
    const last: unknown = Array.isArray(results) ? results.at(-1) : results;
    const claimed = rows(runRow, queryRows.parse(last).rows)[0];
    if (claimed) return claimed;
    const mine = await this.db.pool.query(`SELECT * FROM pipeline_runs WHERE id = $1 AND status = 'running' AND worker_id = $2`, [runId, workerId]);
    return rows(runRow, mine.rows)[0] ?? null;
  }

  /**
   * Sets a run's status and appends it to the history; `message` is kept as the run's error when it
   * failed or was cancelled. A finished status frees the run's slots and may finish its backfill.
   */
  async setStatus(runId: string, status: PipelineRunStatus, at: Date, message?: string, on?: Queryable): Promise<void> {
    // Its follow-ups (the next waiting run's job, the backfill's end) belong to the same transaction.
    if (!on) return this.db.tx((c) => this.setStatus(runId, status, at, message, c));
    await on.query(`UPDATE pipeline_runs SET status = $2, completed_at = $3, error = $4 WHERE id = $1`, [
      runId,
      status,
      runCompletedAt(status, at),
      status === 'failed' || status === 'cancelled' ? (message ?? null) : null,
    ]);
    await on.query('INSERT INTO run_events (run_id, status, at, message) VALUES ($1,$2,$3,$4)', [runId, status, at, message ?? null]);
    if (isRunFinished(status)) {
      // A finished run frees a slot (run limits, backfill concurrency) for the next one waiting,
      // and may finish its backfill: both in the same transaction, so no reader sees them disagree.
      for (const id of await runsWaitingForSlotsOf(runId, on)) await this.enqueue(id, on);
      await settleBackfillOf(runId, at, on);
    }
  }

  /** Cancels a run: one that waits is cancelled here; a running one is stopped by its worker. Null if there is no such run. */
  async requestCancel(runId: string, at: Date): Promise<RunRow | null> {
    const run = await this.db.tx(async (c) => {
      const res = await c.query(`SELECT * FROM pipeline_runs WHERE id = $1 FOR UPDATE`, [runId]);
      const run = rows(runRow, res.rows)[0];
      if (!run) return null;
      if (run.status === 'initial') {
        await c.query(`UPDATE block_runs SET status = 'cancelled', completed_at = $2 WHERE run_id = $1 AND status = ANY($3::text[])`, [runId, at, WAITING_BLOCK_STATUSES]);
        await this.setStatus(runId, 'cancelled', at, 'cancelled before it started', c);
      } else if (run.status === 'running') {
        await c.query('UPDATE pipeline_runs SET cancel_requested = true WHERE id = $1', [runId]);
        await c.query(`INSERT INTO run_events (run_id, status, at, message) VALUES ($1, 'running', $2, 'cancel requested')`, [runId, at]);
        await this.db.notify('cancel', runId, c);
      }
      return run;
    });
    return run ? this.get(runId) : null;
  }

  /**
   * Starts a finished, unsuccessful run again from its failed, cancelled, upstream_failed (and never
   * started) blocks. Throws StoreError when the run is not failed or cancelled; null if there is no such run.
   */
  async retryFromFailed(runId: string, at: Date): Promise<RunRow | null> {
    await this.db.tx(async (c) => {
      const res = await c.query('SELECT * FROM pipeline_runs WHERE id = $1 FOR UPDATE', [runId]);
      const run = rows(runRow, res.rows)[0];
      if (!run) return;
      if (run.status !== 'failed' && run.status !== 'cancelled') throw new StoreError(`run ${runId} is ${run.status}: only a failed or cancelled run can be retried`);
      const blocks = rows(blockRunRow, (await c.query(`SELECT * FROM block_runs WHERE run_id = $1 AND status = ANY($2::text[])`, [runId, RETRYABLE_BLOCK_STATUSES])).rows);
      for (const b of blocks) await this.blockRuns.setStatus(runId, b.block_uuid, 'queued', at, { message: 'retry of the run' }, c);
      // A retried run gets a fresh retry budget for each block it runs again.
      await c.query(`UPDATE block_runs SET attempt_base = attempts WHERE run_id = $1 AND status = 'queued'`, [runId]);
      await c.query(`UPDATE pipeline_runs SET status = 'initial', completed_at = NULL, error = NULL, cancel_requested = false, not_before = $2, worker_id = NULL WHERE id = $1`, [runId, at]);
      await c.query(`INSERT INTO run_events (run_id, status, at, message) VALUES ($1, 'initial', $2, 'retry from the failed blocks')`, [runId, at]);
      await this.enqueue(runId, c);
    });
    return this.get(runId);
  }

  /** Puts a running run back in the queue (its worker stopped); completed blocks stay completed. */
  async requeue(runId: string, at: Date, message: string, on: Queryable = this.db.pool): Promise<void> {
    await on.query(`UPDATE pipeline_runs SET status = 'initial', worker_id = NULL, not_before = $2 WHERE id = $1 AND status = 'running'`, [runId, at]);
    await on.query(`INSERT INTO run_events (run_id, status, at, message) VALUES ($1, 'initial', $2, $3)`, [runId, at, message]);
    await this.enqueue(runId, on);
  }

  /**
   * Hands a running run to the workers of `queue` (its next blocks' executor_config.queue): it
   * waits there in initial and resumes from its unfinished blocks. Only from the worker that runs it.
   */
  async handOff(runId: string, workerId: string, queue: string, at: Date, message: string): Promise<void> {
    await this.db.tx(async (c) => {
      const res = await c.query(`UPDATE pipeline_runs SET queue = $3 WHERE id = $1 AND status = 'running' AND worker_id = $2`, [runId, workerId, queue]);
      if (res.rowCount) await this.requeue(runId, at, message, c);
    });
  }

  /**
   * Resolves a run whose worker died: each block attempt that was running is recorded as failed
   * (the worker was lost) and the run goes back to the queue, where the executor retries those
   * blocks or fails them by their retry_config. Locked, so two recovering workers resolve it once:
   * true for the one that did.
   */
  async recoverOrphan(runId: string, deadWorker: string, at: Date): Promise<boolean> {
    return this.db.tx(async (c) => {
      const res = await c.query(`SELECT * FROM pipeline_runs WHERE id = $1 AND status = 'running' AND worker_id = $2 FOR UPDATE SKIP LOCKED`, [runId, deadWorker]);
      const orphan = rows(runRow, res.rows)[0];
      if (!orphan) return false;
      if (LIVE_RUN_KINDS.includes(orphan.kind)) {
        // Only the process that started an editor or CLI run can drive it: it ends with that process.
        const message = `the ${orphan.kind === 'cli' ? 'grimoire run process' : 'server'} running it stopped (process ${deadWorker})`;
        await c.query(`UPDATE block_run_attempts a SET status = 'failed', finished_at = $2, error = $3 FROM block_runs b WHERE b.id = a.block_run_id AND b.run_id = $1 AND a.status = 'running'`, [runId, at, JSON.stringify({ kind: 'kernel_died', message })]);
        for (const b of rows(blockRunRow, (await c.query(`SELECT * FROM block_runs WHERE run_id = $1 AND status = ANY($2::text[])`, [runId, [...WAITING_BLOCK_STATUSES, 'running']])).rows)) {
          await this.blockRuns.setStatus(runId, b.block_uuid, 'cancelled', at, { message }, c);
        }
        await this.setStatus(runId, 'failed', at, message, c);
        return true;
      }
      const lost = rows(blockRunRow, (await c.query(`SELECT * FROM block_runs WHERE run_id = $1 AND status = 'running'`, [runId])).rows);
      const error = { kind: 'kernel_died', message: `${WORKER_LOST} (process ${deadWorker} exited) during attempt` };
      for (const b of lost) {
        await c.query(`UPDATE block_run_attempts SET status = 'failed', finished_at = $2, error = $3 WHERE block_run_id = $1 AND attempt = $4 AND status = 'running'`, [b.id, at, JSON.stringify(error), b.attempts]);
        await this.blockRuns.setStatus(runId, b.block_uuid, 'failed', at, { attempt: b.attempts, error, message: error.message }, c);
        // The worker's death is not the block's failure: attempted again without spending a retry,
        // unless the block keeps taking its workers down with it (then its retry_config decides).
        const losses = await c.query<{ n: string }>(`SELECT count(*) AS n FROM block_run_attempts WHERE block_run_id = $1 AND error->>'message' LIKE $2`, [b.id, `${WORKER_LOST}%`]);
        const lossCount = Number(losses.rows[0]?.n ?? 0);
        if (lossCount <= MAX_FREE_LOSSES) await c.query('UPDATE block_runs SET attempt_base = attempt_base + 1 WHERE id = $1', [b.id]);
        const message =
          lossCount <= MAX_FREE_LOSSES
            ? `its worker was lost: attempted again on another worker, not counted against retries (loss ${lossCount} of ${MAX_FREE_LOSSES} free)`
            : `its worker was lost ${lossCount} times while running it: retried only if its retry_config allows`;
        await this.blockRuns.setStatus(runId, b.block_uuid, 'queued', at, { attempt: b.attempts, message }, c);
      }
      await this.requeue(runId, at, `recovered: worker ${deadWorker} stopped while the run was running`, c);
      return true;
    });
  }

  /** Runs that are `running` on some worker, oldest start first: recovery checks each worker is still alive. */
  async running(): Promise<RunRow[]> {
    const res = await this.db.pool.query(`SELECT * FROM pipeline_runs WHERE status = 'running' ORDER BY started_at`);
    return rows(runRow, res.rows);
  }

  /** Whether someone asked to cancel the run (false for an unknown run). */
  async isCancelRequested(runId: string): Promise<boolean> {
    const res = await this.db.pool.query<{ cancel_requested: boolean }>('SELECT cancel_requested FROM pipeline_runs WHERE id = $1', [runId]);
    return res.rows[0]?.cancel_requested ?? false;
  }
}
