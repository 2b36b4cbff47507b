import type PgBoss from 'pg-boss';
import type pg from 'pg';
import { z } from 'zod';
import { type Queryable } from './db';
import { FetchLoops, stopWithin } from './fetch-loops';
import { DEFAULT_QUEUE } from '../pipeline/executor-config';
import { type EnqueueOptions, type JobQueue, type RunJobHandler } from './job-queue';

/** The pg-boss queue that carries runs of the default queue to workers; each job names one pipeline run. */
export const RUN_QUEUE = 'pipeline-runs';

/** The pg-boss queue of a Grimoire queue: the default keeps the name it always had, so jobs already waiting are still found. */
export function bossQueueOf(queue: string): string {
  return queue === DEFAULT_QUEUE ? RUN_QUEUE : `${RUN_QUEUE}__${queue}`;
}

const runJob = z.object({ runId: z.string().min(1) });

/** How often an idle fetch loop looks for jobs; a NOTIFY (`wake`) makes it look at once. */
const POLL_MS = 2_000;
/** How long `close` waits for handlers still running before it stops pg-boss anyway. */
const CLOSE_WAIT_MS = 5_000;

function dbOf(on: Queryable): PgBoss.Db {
  return { executeSql: (text: string, values: unknown[]) => on.query(text, values) };
}

/**
 * Dispatch of runs through pg-boss, in its own schema next to the store's tables. The run row
 * stays the truth (status, limits, who runs it); a job is the delivery of "this run may start",
 * written in the same transaction as the change that made it runnable, so a run is never
 * runnable without a job on its way. A job whose run cannot be claimed (cancelled, already taken,
 * held by a run limit) completes without effect; whoever frees the slot enqueues the next one.
 *
 * pg-boss stores, fetches (SKIP LOCKED) and settles the jobs; the fetch loops are ours
 * (fetch-loops.ts) rather than `boss.work`'s, because `offWork` returns before its loops end and
 * `stop` must be able to promise that no handler runs after it.
 */
export class PgBossQueue implements JobQueue<Queryable> {
  private readonly working = new Set<FetchLoops<PgBoss.Job<unknown>>>();
  /** Jobs handed to a handler and not yet settled, failed by `close` if it cannot wait for them. */
  private readonly inFlight = new Map<string, string>();
  /** pg-boss queues made by this process (createQueue is idempotent, but a round trip). */
  private readonly created = new Set<string>([RUN_QUEUE]);
  private closed = false;

  private constructor(
    private readonly boss: PgBoss,
    private readonly pool: pg.Pool,
    readonly schema: string,
  ) {}

  static async open(pool: pg.Pool, schema: string, options: { maintain: boolean }): Promise<PgBossQueue> {
    // Loaded when a queue opens (~35 ms), not with every process that could open one: `grimoire
    // run --no-record` never does, and its start is measured.
    const { default: Boss } = await import('pg-boss');
    const boss = new Boss({
      db: dbOf(pool),
      schema,
      // Our scheduler (croner, exactly-once by unique key) decides when runs exist; pg-boss only delivers them.
      schedule: false,
      supervise: options.maintain,
      migrate: true,
    });
    boss.on('error', () => undefined);
    await boss.start();
    await createRunQueue(boss, RUN_QUEUE);
    return new PgBossQueue(boss, pool, schema);
  }

  private async ensureQueue(name: string): Promise<void> {
    if (this.created.has(name)) return;
    await createRunQueue(this.boss, name);
    this.created.add(name);
  }

  /** Enqueues a run, in the caller's transaction when `options.in` is one. */
  async enqueue(runId: string, options: EnqueueOptions<Queryable> = {}): Promise<void> {
    const name = bossQueueOf(options.queue ?? DEFAULT_QUEUE);
    await this.ensureQueue(name);
    await this.boss.send(name, { runId }, { db: dbOf(options.in ?? this.pool), ...(options.startAfter ? { startAfter: options.startAfter } : {}) });
  }

  async work(concurrency: number, handler: RunJobHandler, onError: (e: unknown) => void, queues: readonly string[] = [DEFAULT_QUEUE]): Promise<() => Promise<void>> {
    const names = queues.map(bossQueueOf);
    for (const name of names) await this.ensureQueue(name);
    // pg-boss's own failures (maintenance, when this process runs it) reach the worker too.
    this.boss.on('error', onError);
    const source = {
      next: async () => {
        // Queue by queue, in the order the worker listed them.
        for (const name of names) {
          const [job] = await this.boss.fetch<unknown>(name, { batchSize: 1 });
          if (job) {
            this.inFlight.set(job.id, name);
            return job;
          }
        }
        return null;
      },
      runIdOf: (job: PgBoss.Job<unknown>) => {
        const data = runJob.safeParse(job.data);
        return data.success ? data.data.runId : new Error(`job ${job.id} on ${RUN_QUEUE} does not name a run: ${data.error.message}`);
      },
      settle: async (job: PgBoss.Job<unknown>, failure: { error: unknown } | null) => {
        const name = this.inFlight.get(job.id) ?? job.name;
        this.inFlight.delete(job.id);
        if (failure) await this.boss.fail(name, job.id, { message: failure.error instanceof Error ? failure.error.message : String(failure.error) });
        else await this.boss.complete(name, job.id);
      },
    };
    const loops = new FetchLoops(source, handler, onError, POLL_MS, concurrency);
    this.working.add(loops);
    return async () => {
      this.working.delete(loops);
      await loops.stop();
      this.boss.off('error', onError);
    };
  }

  wake(): void {
    for (const loops of this.working) loops.wake();
  }

  lend(): () => void {
    const given = [...this.working].map((loops) => loops.lend());
    return () => {
      for (const giveBack of given) giveBack();
    };
  }

  /** Jobs of every run queue made here not yet finished (created, retry or active). */
  async pending(): Promise<number> {
    let n = 0;
    for (const name of this.created) n += await this.boss.getQueueSize(name, { before: 'completed' });
    return n;
  }

  /** Stops the loops (workers stop theirs, and the runs in them, first) and pg-boss. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const loops = [...this.working];
    this.working.clear();
    await stopWithin(loops, CLOSE_WAIT_MS);
    // What pg-boss's graceful stop did for its own workers: a job still being handled is failed, not left active for a day.
    for (const [id, name] of this.inFlight) await this.boss.fail(name, id).catch(() => undefined);
    await this.boss.stop({ graceful: true, close: false, timeout: 5_000 });
  }
}

/** Makes a run queue in pg-boss (a no-op when it exists). */
async function createRunQueue(boss: PgBoss, name: string): Promise<void> {
  await boss.createQueue(name, {
    name,
    policy: 'standard',
    // A failed run is retried by its retry_config in the store, never by redelivering the job.
    retryLimit: 0,
    // A job stays active while its run executes; the longest pg-boss allows. A dead worker's run
    // is recovered through its presence (presence.ts) long before this.
    expireInHours: 23,
  });
}
