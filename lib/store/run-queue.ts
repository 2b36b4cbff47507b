import PgBoss from 'pg-boss';
import type pg from 'pg';
import { z } from 'zod';

/** The pg-boss queue that carries runs to workers; each job names one pipeline run. */
export const RUN_QUEUE = 'pipeline-runs';

const runJob = z.object({ runId: z.string().min(1) });

export type Queryable = pg.Pool | pg.PoolClient;

/** What a worker's handler made of a job: it ran the run, or the run could not be claimed. */
export type RunJobHandler = (runId: string) => Promise<void>;

function dbOf(on: Queryable): PgBoss.Db {
  return { executeSql: (text: string, values: unknown[]) => on.query(text, values) };
}

/**
 * Dispatch of runs through pg-boss, in its own schema next to the store's tables. The run row
 * stays the truth (status, limits, who runs it); a job is the delivery of "this run may start",
 * written in the same transaction as the change that made it runnable, so a run is never
 * runnable without a job on its way. A job whose run cannot be claimed (cancelled, already taken,
 * held by a run limit) completes without effect; whoever frees the slot enqueues the next one.
 */
export class RunQueue {
  private readonly workIds = new Set<string>();
  private closed = false;

  private constructor(
    private readonly boss: PgBoss,
    readonly schema: string,
  ) {}

  static async open(pool: pg.Pool, schema: string, options: { maintain: boolean }): Promise<RunQueue> {
    const boss = new PgBoss({
      db: dbOf(pool),
      schema,
      // Our scheduler (croner, exactly-once by unique key) decides when runs exist; pg-boss only delivers them.
      schedule: false,
      supervise: options.maintain,
      migrate: true,
    });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue(RUN_QUEUE, {
      name: RUN_QUEUE,
      policy: 'standard',
      // A failed run is retried by its retry_config in the store, never by redelivering the job.
      retryLimit: 0,
      // A job stays active while its run executes; the longest pg-boss allows. A dead worker's
      // run is recovered through its advisory lock long before this.
      expireInHours: 23,
    });
    return new RunQueue(boss, schema);
  }

  /** Enqueues a run, in the caller's transaction when `on` is one. */
  async enqueue(runId: string, on: Queryable, startAfter?: Date): Promise<void> {
    await this.boss.send(RUN_QUEUE, { runId }, { db: dbOf(on), ...(startAfter ? { startAfter } : {}) });
  }

  /**
   * Starts `concurrency` fetch loops, each executing one run at a time. `onError` hears jobs that
   * are not ours to read (a malformed payload) and handler failures. Returns what stops the loops
   * (a job fetched while they stop still reaches the handler, which must hand it back).
   */
  async work(concurrency: number, handler: RunJobHandler, onError: (e: unknown) => void): Promise<() => Promise<void>> {
    this.boss.on('error', onError);
    const ids: string[] = [];
    for (let i = 0; i < concurrency; i++) {
      const id = await this.boss.work<unknown>(RUN_QUEUE, { batchSize: 1, pollingIntervalSeconds: 2 }, async (jobs) => {
        for (const job of jobs) {
          const data = runJob.safeParse(job.data);
          if (!data.success) {
            onError(new Error(`job ${job.id} on ${RUN_QUEUE} does not name a run: ${data.error.message}`));
            continue;
          }
          await handler(data.data.runId);
        }
      });
      ids.push(id);
      this.workIds.add(id);
    }
    return async () => {
      this.boss.off('error', onError);
      for (const id of ids) {
        this.workIds.delete(id);
        await this.boss.offWork({ id });
      }
    };
  }

  /** Fetch at once instead of at the next poll (a NOTIFY said a run was enqueued). */
  wake(): void {
    for (const id of this.workIds) this.boss.notifyWorker(id);
  }

  /** Jobs of this queue not yet finished (created, retry or active). */
  async pending(): Promise<number> {
    return this.boss.getQueueSize(RUN_QUEUE, { before: 'completed' });
  }

  /** Stops pg-boss; workers stop their loops (and the runs in them) first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.boss.stop({ graceful: true, close: false, timeout: 5_000 });
  }
}
