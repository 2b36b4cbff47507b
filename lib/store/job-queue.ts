import { DEFAULT_QUEUE } from '../pipeline/executor-config';

/** One job: "this run may start". The run row stays the truth; a job is only its delivery. */
export type RunJobHandler = (runId: string) => Promise<void>;

export interface EnqueueOptions<Tx> {
  /** Write the job in the caller's transaction, so it exists exactly when the change that made the run runnable commits. */
  in?: Tx;
  /** Not delivered before this time. */
  startAfter?: Date;
  /** The queue it waits in (executor_config.queue): only workers of that queue fetch it. Default DEFAULT_QUEUE (lib/pipeline/executor-config.ts). */
  queue?: string;
}


/**
 * The queue that carries runs to workers. Two implementations keep the same contract
 * (test/support/job-queue-contract.ts): pg-boss (pg-boss-queue.ts) in the product, an in-memory one
 * (memory-queue.ts) for unit tests.
 *
 * Delivery is at least once per enqueue, with no deduplication: two enqueues of one run are two
 * deliveries, and the run's claim in the store (claimRun, FOR UPDATE SKIP LOCKED) makes the spare one
 * a no-op. `Tx` is what "the caller's transaction" is for an implementation (a pg client for
 * pg-boss).
 */
export interface JobQueue<Tx> {
  enqueue(runId: string, options?: EnqueueOptions<Tx>): Promise<void>;
  /**
   * Starts `concurrency` fetch loops, each handing one job at a time to `handler`, so at most
   * `concurrency` handlers run at once. Loops fetch every poll interval, or at once after `wake()`,
   * from `queues` (default [DEFAULT_QUEUE]) in the order given.
   * `onError` hears handler failures (the job then counts as failed, never redelivered) and jobs the
   * queue cannot read; the loops keep going. Returns `stop`: it resolves once the loops have ended
   * and every handler call they started has returned, and no handler is called after it.
   */
  work(concurrency: number, handler: RunJobHandler, onError: (e: unknown) => void, queues?: readonly string[]): Promise<() => Promise<void>>;
  /** Fetch at once instead of at the next poll (someone said a job was enqueued). */
  wake(): void;
  /**
   * One more fetch loop (FetchLoops.lend) for the work this process does, while one of its
   * handlers waits on another job of the queue; the returned function gives it back.
   */
  lend(): () => void;
  /** Jobs enqueued and not yet finished: waiting (also those whose startAfter is ahead) or being handled. */
  pending(): Promise<number>;
  /** Stops every loop (as their `stop` would, waiting a bounded time for handlers) and releases the queue. */
  close(): Promise<void>;
}
