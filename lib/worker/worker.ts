import { randomUUID } from 'node:crypto';
import { kernelNice } from '../kernel/kernel-priority';
import { workspaceSecretStore } from '../access/secret-store';
import { errorMessage } from '../errors';
import { type Clock, systemClock } from '../clock';
import { holdPresence, type Presence } from '../store/presence';
import { HEARTBEAT_MS } from '../store/worker-repository';
import { type Store } from '../store/store';
import { type RunRow } from '../store/types';
import { KernelStandby } from '../kernel/standby';
import { executeRun } from './execute-run';
import { DEFAULT_QUEUE } from '../pipeline/executor-config';

export interface WorkerOptions {
  store: Store;
  projectsDir: string;
  kernelEnv?: Record<string, string>;
  /**
   * The workspace's secrets for kernels, read at each run's first block; by default those in `store`,
   * decrypted with the key of `projectsDir` (GRIMOIRE_SECRET_KEY or .grimoire/secret.key).
   */
  secrets?: () => Promise<Record<string, string>>;
  /** Runs executed at once by this worker (each in its own kernel process). */
  concurrency?: number;
  /**
   * The queues it takes runs from, in order (`grimoire worker --queue heavy`); default
   * ['default']. A run's blocks of another queue (executor_config.queue) are handed to that
   * queue's workers.
   */
  queues?: readonly string[];
  workerId?: string;
  clock?: Clock;
  /** How often the worker looks for waiting runs left without a job (ms); lost processes are looked for at every heartbeat. */
  sweepMs?: number;
  /** How often its row is heartbeated and lost processes are looked for (ms); default HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** How long `stop` lets running blocks finish before it stops them (ms); default 30 s. */
  graceMs?: number;
  onError?: (e: unknown) => void;
}

/**
 * Executes runs delivered by the store's job queue (lib/store/job-queue.ts), `concurrency` at a time.
 * A worker's presence (lib/store/presence.ts) is a liveness lock plus heartbeats in the `workers`
 * table: when the process dies, Postgres drops the lock, its heartbeats stop, and within
 * LOST_AFTER_SECONDS another worker (or this one after a restart) marks it lost and moves the runs
 * it left `running` to the queue. A Postgres restart drops every lock but never makes a live
 * worker look lost (heartbeats count from the database's start). A worker told it was lost stops
 * its runs without writing another word about them: they belong to whoever took them over.
 */
export class Worker {
  readonly id: string;
  private readonly clock: Clock;
  private presence: Presence | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private standby: KernelStandby | null = null;
  private stopListening: (() => Promise<void>) | null = null;
  private readonly active = new Map<string, { controller: AbortController; drain: AbortController; done: Promise<void> }>();
  /**
   * Runs whose claim is under way here. Two jobs for one run (a freed slot and the idle sweep
   * both enqueue it) may reach two loops of this worker at once: the second must not claim while
   * the first does, since a claim returns a run its own worker already holds (a retried claim).
   */
  private readonly claiming = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopWork: (() => Promise<void>) | null = null;
  private stopped = false;
  private readonly secrets: () => Promise<Record<string, string>>;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.workerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.clock = options.clock ?? systemClock;
    const stored = workspaceSecretStore(options.store.pool, options.projectsDir);
    this.secrets = options.secrets ?? (() => stored.values());
  }

  /** The queues it serves, in order. */
  get queues(): readonly string[] {
    return this.options.queues && this.options.queues.length > 0 ? this.options.queues : [DEFAULT_QUEUE];
  }

  get store(): Store {
    return this.options.store;
  }

  async start(): Promise<void> {
    // A bad GRIMOIRE_KERNEL_NICE stops the start, naming the variable, before this worker registers.
    kernelNice();
    this.presence = await holdPresence({
      url: this.store.url,
      workers: this.store.workers,
      ownerId: this.id,
      kind: 'worker',
      queues: this.queues,
      concurrency: this.options.concurrency ?? 2,
      heartbeatMs: this.options.heartbeatMs,
    });
    // Another process gave this worker's runs away (it was silent too long): stop them at once,
    // and write nothing more about them.
    this.presence.onLost(() => {
      for (const a of this.active.values()) a.controller.abort('shutdown');
    });
    this.stopped = false;
    // A kernel loaded ahead of the next run: its first block starts ~0.3 s sooner.
    this.standby = new KernelStandby({ cwd: this.options.projectsDir, envDefaults: this.options.kernelEnv });
    this.standby.fill();
    this.stopListening = await this.store.listen(
      ['runs', 'cancel'],
      (name, payload) => {
        if (name === 'runs') this.kick();
        else this.active.get(payload)?.controller.abort('cancelled');
      },
      // Back after the database was away: jobs and cancels may have been announced meanwhile.
      () => {
        this.kick();
        void this.checkCancels().catch((e: unknown) => this.options.onError?.(e));
      },
    );
    await this.sweep();
    this.stopWork = await this.store.queue.work(this.options.concurrency ?? 2, (runId) => this.handle(runId), (e) => this.options.onError?.(e), this.queues);
    const every = this.options.sweepMs ?? 30_000;
    this.sweepTimer = setInterval(() => void this.sweep().catch((e: unknown) => this.options.onError?.(e)), every);
    this.sweepTimer.unref();
    this.heartbeatTimer = setInterval(() => void this.recover().catch((e: unknown) => this.options.onError?.(e)), this.options.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeatTimer.unref();
  }

  /** Resolves runs of dead workers, and gives a job to runs that waited long without one. */
  private async sweep(): Promise<void> {
    await this.recover();
    await this.store.runs.enqueueIdle(this.options.sweepMs ?? 30_000);
  }

  /** Cancels the runs in flight whose cancel was asked while this worker could not hear it. */
  private async checkCancels(): Promise<void> {
    for (const [runId, a] of this.active) if (await this.store.runs.isCancelRequested(runId)) a.controller.abort('cancelled');
  }

  /**
   * Marks lost the processes that are gone (worker-repository.ts `isGone`), and resolves the runs
   * they left `running` (retry or fail by policy); returns the runs it moved.
   */
  async recover(): Promise<string[]> {
    await this.store.workers.markLost();
    const recovered: string[] = [];
    const gone = new Map<string, boolean>();
    for (const run of await this.store.runs.running()) {
      if (!run.worker_id || run.worker_id === this.id) continue;
      let isGone = gone.get(run.worker_id);
      if (isGone === undefined) gone.set(run.worker_id, (isGone = await this.store.workers.isGone(run.worker_id)));
      if (!isGone) continue;
      if (await this.store.runs.recoverOrphan(run.id, run.worker_id, this.clock.now())) {
        recovered.push(run.id);
        await this.store.workers.addMovedRun(run.worker_id, run.id);
      }
    }
    return recovered;
  }

  /** Fetch from the queue now rather than at the next poll. */
  kick(): void {
    if (!this.stopped) this.store.queue.wake();
  }

  /** One job: claim its run (it may be gone, taken, or held by a limit) and execute it to the end. */
  private async handle(runId: string): Promise<void> {
    // Fetched while stopping: the job goes back for another worker (or this one after a restart).
    if (this.stopped) return this.store.runs.enqueue(runId);
    // A second job for a run this worker already runs (a job re-sent after a lost reply).
    if (this.active.has(runId) || this.claiming.has(runId)) return;
    this.claiming.add(runId);
    let run: RunRow | null;
    try {
      run = await this.store.runs.claim(runId, this.id, this.clock.now());
    } finally {
      this.claiming.delete(runId);
    }
    if (!run) return;
    const controller = new AbortController();
    const drain = new AbortController();
    // Claimed while `stop` was already draining the runs it knew: this one drains too, or `stop`
    // (which waits for the queue's handlers) would wait for the whole run.
    if (this.stopped) drain.abort();
    const done = this.execute(run, controller, drain.signal);
    this.active.set(run.id, { controller, drain, done });
    await done;
  }

  private async execute(run: RunRow, controller: AbortController, drain: AbortSignal): Promise<void> {
    const presence = this.presence;
    try {
      // A cancel asked before the claim (the claim returns the flag; one asked since is NOTIFYed).
      if (run.cancel_requested) controller.abort('cancelled');
      const status = await executeRun({
        store: this.store,
        run,
        projectsDir: this.options.projectsDir,
        kernelEnv: this.options.kernelEnv,
        standby: this.standby ?? undefined,
        secrets: this.secrets,
        signal: controller.signal,
        drain,
        fenced: () => presence?.lost === true,
        queues: this.queues,
        workerId: this.id,
        clock: this.clock,
      });
      if (status === 'completed' || status === 'failed') await this.store.workers.countRun(this.id, status).catch(() => undefined);
    } catch (e) {
      this.options.onError?.(e);
      if (presence?.lost) return;
      await this.store.runs.setStatus(run.id, 'failed', this.clock.now(), `the worker failed while running it: ${errorMessage(e)}`).catch(() => undefined);
      await this.store.workers.countRun(this.id, 'failed').catch(() => undefined);
    } finally {
      this.active.delete(run.id);
    }
  }

  /**
   * Stops taking jobs and drains (SIGTERM): blocks running now get `graceMs` (default
   * `options.graceMs`, else 30 s) to finish, no other block starts, and then the blocks still
   * running are stopped; every run not finished goes back to the queue and resumes on another
   * worker from its unfinished blocks.
   */
  async stop(graceMs = this.options.graceMs ?? 30_000): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.presence?.drain().catch(() => undefined);
    // Idle fetch loops end now, busy ones once their run has ended.
    const workStopped = this.stopWork?.();
    for (const a of this.active.values()) a.drain.abort();
    const runs = Promise.all([...this.active.values()].map((a) => a.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([runs, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const a of this.active.values()) a.controller.abort('shutdown');
    await runs;
    await this.standby?.close();
    this.standby = null;
    await workStopped;
    await this.stopListening?.();
    await this.presence?.release();
    this.presence = null;
  }
}
