import { type EnqueueOptions, type JobQueue, type RunJobHandler } from './job-queue';

/**
 * A job queue opened on its first use instead of with its store: for processes that record runs
 * but seldom or never hand one to a worker (`grimoire run` records its own run with no job), so
 * their start does not wait for the queue (pg-boss's load and start, ~30 ms of it).
 *
 * The contract is JobQueue's. Before the queue is open no fetch loop runs, so `wake` has none to
 * wake and `lend` none to lend. An opening that fails fails the call that asked for it, and the
 * next call tries again.
 */
export class DeferredQueue<Tx> implements JobQueue<Tx> {
  private opening: Promise<JobQueue<Tx>> | null = null;
  private opened: JobQueue<Tx> | null = null;
  private closed = false;

  /** `open` makes the real queue; it is called at most once while its promise stands. */
  constructor(private readonly open: () => Promise<JobQueue<Tx>>) {}

  private queue(): Promise<JobQueue<Tx>> {
    if (this.closed) return Promise.reject(new Error('the job queue is closed'));
    this.opening ??= this.open().then(
      (queue) => {
        this.opened = queue;
        return queue;
      },
      (e: unknown) => {
        this.opening = null;
        throw e;
      },
    );
    return this.opening;
  }

  async enqueue(runId: string, options?: EnqueueOptions<Tx>): Promise<void> {
    await (await this.queue()).enqueue(runId, options);
  }

  async work(concurrency: number, handler: RunJobHandler, onError: (e: unknown) => void, queues?: readonly string[]): Promise<() => Promise<void>> {
    return (await this.queue()).work(concurrency, handler, onError, queues);
  }

  wake(): void {
    this.opened?.wake();
  }

  lend(): () => void {
    return this.opened?.lend() ?? (() => undefined);
  }

  async pending(): Promise<number> {
    return (await this.queue()).pending();
  }

  /** Closes the queue if it was opened (or is opening); a queue never opened has nothing to release. */
  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    if (!opening) return;
    const queue = await opening.catch(() => null);
    await queue?.close();
  }
}
