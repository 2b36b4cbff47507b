import { randomUUID } from 'node:crypto';
import { workspaceSecretStore } from '../access/secret-store';
import { errorMessage } from '../errors';
import { type Clock, systemClock } from '../clock';
import { holdLivenessLock, isOwnerGone, type LivenessLock } from '../store/liveness';
import { type Store } from '../store/store';
import { type RunRow } from '../store/types';
import { KernelStandby } from '../kernel/standby';
import { executeRun } from './execute-run';

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
  workerId?: string;
  clock?: Clock;
  /** How often the worker looks for runs of dead workers and for waiting runs left without a job. */
  sweepMs?: number;
  onError?: (e: unknown) => void;
}

/**
 * Executes runs delivered by the store's job queue (lib/store/job-queue.ts), `concurrency` at a time.
 * A worker holds a session advisory lock for as long as its process lives: when the process dies,
 * Postgres drops the lock with the connection, and any other worker (or this one after a restart)
 * sees the runs it left `running` as orphans and resolves them. Liveness is a fact of the
 * database, never a guess from timing.
 */
export class Worker {
  readonly id: string;
  private readonly clock: Clock;
  private liveness: LivenessLock | null = null;
  private standby: KernelStandby | null = null;
  private stopListening: (() => Promise<void>) | null = null;
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
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

  get store(): Store {
    return this.options.store;
  }

  async start(): Promise<void> {
    this.liveness = await holdLivenessLock(this.store.url, this.id);
    this.stopped = false;
    // A kernel loaded ahead of the next run: its first block starts ~0.3 s sooner.
    this.standby = new KernelStandby({ cwd: this.options.projectsDir, envDefaults: this.options.kernelEnv });
    this.standby.fill();
    this.stopListening = await this.store.listen(['runs', 'cancel'], (name, payload) => {
      if (name === 'runs') this.kick();
      else this.active.get(payload)?.controller.abort('cancelled');
    });
    await this.sweep();
    this.stopWork = await this.store.queue.work(this.options.concurrency ?? 2, (runId) => this.handle(runId), (e) => this.options.onError?.(e));
    const every = this.options.sweepMs ?? 30_000;
    this.sweepTimer = setInterval(() => void this.sweep().catch((e: unknown) => this.options.onError?.(e)), every);
    this.sweepTimer.unref();
  }

  /** Resolves runs of dead workers, and gives a job to runs that waited long without one. */
  private async sweep(): Promise<void> {
    await this.recover();
    await this.store.runs.enqueueIdle(this.options.sweepMs ?? 30_000);
  }

  /** Finds runs left `running` by workers that are gone and resolves them (retry or fail by policy). */
  async recover(): Promise<string[]> {
    const recovered: string[] = [];
    for (const run of await this.store.runs.running()) {
      if (!run.worker_id || run.worker_id === this.id) continue;
      if (!(await isOwnerGone(this.store.pool, run.worker_id))) continue;
      if (await this.store.runs.recoverOrphan(run.id, run.worker_id, this.clock.now())) recovered.push(run.id);
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
    const run = await this.store.runs.claim(runId, this.id, this.clock.now());
    if (!run) return;
    const controller = new AbortController();
    // Claimed while `stop` was already aborting the runs it knew: this one stops too, or `stop`
    // (which waits for the queue's handlers) would wait for the whole run.
    if (this.stopped) controller.abort('shutdown');
    const done = this.execute(run, controller);
    this.active.set(run.id, { controller, done });
    await done;
  }

  private async execute(run: RunRow, controller: AbortController): Promise<void> {
    try {
      // A cancel that arrived between the claim and now.
      if (await this.store.runs.isCancelRequested(run.id)) controller.abort('cancelled');
      await executeRun({
        store: this.store,
        run,
        projectsDir: this.options.projectsDir,
        kernelEnv: this.options.kernelEnv,
        standby: this.standby ?? undefined,
        secrets: this.secrets,
        signal: controller.signal,
        clock: this.clock,
      });
    } catch (e) {
      this.options.onError?.(e);
      await this.store.runs.setStatus(run.id, 'failed', this.clock.now(), `the worker failed while running it: ${errorMessage(e)}`).catch(() => undefined);
    } finally {
      this.active.delete(run.id);
    }
  }

  /** Stops taking jobs; runs in flight are stopped and put back in the queue to resume later. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const a of this.active.values()) a.controller.abort('shutdown');
    await Promise.all([...this.active.values()].map((a) => a.done));
    await this.standby?.close();
    this.standby = null;
    await this.stopWork?.();
    await this.stopListening?.();
    await this.liveness?.release();
    this.liveness = null;
  }
}
