import { type RunJobHandler } from './job-queue';

/** What a queue implementation supplies to the loops: how to take one job and how to record its end. */
export interface JobSource<J> {
  /** The next job that is due, now marked active so no other loop takes it; null when none is due. */
  next(): Promise<J | null>;
  /** The run a job names, or why it names none (such a job is completed without calling the handler). */
  runIdOf(job: J): string | Error;
  /** Records the end of a job: completed (`failure` null) or failed, never to be delivered again. */
  settle(job: J, failure: { error: unknown } | null): Promise<void>;
}

/**
 * The fetch loops behind `JobQueue.work`, shared by the pg-boss and in-memory queues so that both
 * honour the concurrency cap, wake and drain the same way: `concurrency` loops, each fetching one
 * job, awaiting its handler, and fetching again at once; when nothing is due a loop sleeps one poll
 * interval, or less when woken. A wake rouses one sleeping loop, and a loop that finds a job rouses
 * the next: one job costs a fetch or two, not one per loop (every process hears each NOTIFY, and on
 * a busy database each needless fetch delays the ones that matter), while a backlog found by one
 * loop still brings every loop in.
 */
export class FetchLoops<J> {
  private stopping = false;
  /** Loops asleep between polls, by the function that wakes them. */
  private readonly sleepers = new Set<() => void>();
  /** Loops that were woken while fetching: they skip the next sleep, since the job may have arrived since. */
  private readonly woken = new Set<number>();
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly source: JobSource<J>,
    private readonly handler: RunJobHandler,
    private readonly onError: (e: unknown) => void,
    private readonly pollMs: number,
    concurrency: number,
  ) {
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop(i));
  }

  /** A job may be due: one sleeping loop fetches now; with none asleep, loops fetching now fetch once more. */
  wake(): void {
    const [sleeper] = this.sleepers;
    if (sleeper) return sleeper();
    for (let i = 0; i < this.loops.length; i++) this.woken.add(i);
  }

  /** Ends the loops and resolves once each has returned from its handler; a job fetched meanwhile is still handled. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.sleepers]) wake();
    await Promise.all(this.loops);
  }

  /**
   * One more loop for as long as a handler waits on other work of the queue (a run waiting for the
   * run it triggered: without it, runs waiting on runs could fill every loop and wait forever).
   * The returned function gives it back: the loop ends after the job it is handling, if any.
   */
  lend(): () => void {
    let returned = false;
    const index = this.loops.length;
    this.loops.push(this.loop(index, () => !returned));
    return () => {
      returned = true;
      this.woken.add(index);
      for (const wake of [...this.sleepers]) wake();
    };
  }

  private async loop(index: number, lent: () => boolean = () => true): Promise<void> {
    while (!this.stopping && lent()) {
      this.woken.delete(index);
      let job: J | null = null;
      try {
        job = await this.source.next();
      } catch (e) {
        this.onError(e);
      }
      if (job !== null) {
        // More may be due (a backlog, or jobs that one wake announced together).
        this.wake();
        await this.deliver(job);
        continue;
      }
      if (!this.stopping && lent() && !this.woken.has(index)) await this.sleep();
    }
  }

  private async deliver(job: J): Promise<void> {
    const runId = this.source.runIdOf(job);
    let failure: { error: unknown } | null = null;
    if (runId instanceof Error) {
      this.onError(runId);
    } else {
      try {
        await this.handler(runId);
      } catch (e) {
        failure = { error: e };
        this.onError(e);
      }
    }
    await this.source.settle(job, failure).catch(this.onError);
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.pollMs);
      this.sleepers.add(wake);
    });
  }
}

/** Stops every set of loops, waiting at most `ms` for handlers still running (a queue's `close`). */
export async function stopWithin(loops: readonly { stop(): Promise<void> }[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(loops.map((l) => l.stop())), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
