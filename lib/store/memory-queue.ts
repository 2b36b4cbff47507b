import { FetchLoops, stopWithin } from './fetch-loops';
import { DEFAULT_QUEUE } from '../pipeline/executor-config';
import { type EnqueueOptions, type JobQueue, type RunJobHandler } from './job-queue';

interface MemoryJob {
  id: number;
  runId: string;
  queue: string;
  /** Epoch ms before which the job is not delivered. */
  startAfter: number;
  state: 'created' | 'active' | 'completed' | 'failed';
}

export interface MemoryQueueOptions {
  /** How often an idle loop looks for due jobs, as pg-boss's loops poll; `wake` makes it look at once. Default 2000 ms. */
  pollMs?: number;
  /** Epoch ms now, for startAfter; tests with a fake clock pass theirs. */
  now?: () => number;
}

/**
 * The job queue in this process's memory, for unit tests of what uses a queue (no Postgres). It keeps
 * the pg-boss queue's contract (test/support/job-queue-contract.ts), including its polling: a job
 * enqueued is fetched at the next poll or `wake`, not pushed to a loop. It has no transactions: a job
 * enqueued `in` a transaction exists at once, even if that transaction rolls back (harmless, as a job
 * whose run cannot be claimed does nothing).
 */
export class MemoryQueue<Tx = unknown> implements JobQueue<Tx> {
  private readonly jobs: MemoryJob[] = [];
  private readonly working = new Set<FetchLoops<MemoryJob>>();
  private nextId = 1;
  private readonly pollMs: number;
  private readonly now: () => number;

  constructor(options: MemoryQueueOptions = {}) {
    this.pollMs = options.pollMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  async enqueue(runId: string, options: EnqueueOptions<Tx> = {}): Promise<void> {
    this.jobs.push({ id: this.nextId++, runId, queue: options.queue ?? DEFAULT_QUEUE, startAfter: options.startAfter?.getTime() ?? 0, state: 'created' });
  }

  async work(concurrency: number, handler: RunJobHandler, onError: (e: unknown) => void, queues: readonly string[] = [DEFAULT_QUEUE]): Promise<() => Promise<void>> {
    const source = {
      next: async () => {
        // Queue by queue in the order given; oldest first within one, as pg-boss orders by creation.
        let job: MemoryJob | undefined;
        for (const queue of queues) {
          job = this.jobs.find((j) => j.queue === queue && j.state === 'created' && j.startAfter <= this.now());
          if (job) break;
        }
        if (job) job.state = 'active';
        return job ?? null;
      },
      runIdOf: (job: MemoryJob) => job.runId,
      settle: async (job: MemoryJob, failure: { error: unknown } | null) => {
        job.state = failure ? 'failed' : 'completed';
      },
    };
    const loops = new FetchLoops(source, handler, onError, this.pollMs, concurrency);
    this.working.add(loops);
    return async () => {
      this.working.delete(loops);
      await loops.stop();
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

  async pending(): Promise<number> {
    return this.jobs.filter((j) => j.state === 'created' || j.state === 'active').length;
  }

  async close(): Promise<void> {
    const loops = [...this.working];
    this.working.clear();
    await stopWithin(loops, 5_000);
  }
}
