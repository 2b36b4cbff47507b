import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { errorMessage } from '../errors';
import { type Clock, systemClock } from '../scheduler/clock';
import { type Store } from '../store/store';
import { type RunRow } from '../store/types';
import { executeRun } from './execute-run';

export interface WorkerOptions {
  store: Store;
  projectsDir: string;
  kernelEnv?: Record<string, string>;
  /** Runs executed at once by this worker (each in its own kernel process). */
  concurrency?: number;
  workerId?: string;
  clock?: Clock;
  /** Safety net only: claims happen on NOTIFY, on a finished run, and when a delayed run is due. */
  maxIdleMs?: number;
  onError?: (e: unknown) => void;
}

const lockKey = (workerId: string) => `grimoire.worker.${workerId}`;

/**
 * Claims runs from the store and executes them. A worker holds a session advisory lock for as
 * long as its process lives: when the process dies, Postgres drops the lock with the connection,
 * and any other worker (or this one after a restart) sees the runs it left `running` as orphans
 * and resolves them. Liveness is a fact of the database, never a guess from timing.
 */
export class Worker {
  readonly id: string;
  private readonly clock: Clock;
  private lockClient: pg.Client | null = null;
  private stopListening: (() => Promise<void>) | null = null;
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private wakeController = new AbortController();
  private loop: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.workerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.clock = options.clock ?? systemClock;
  }

  get store(): Store {
    return this.options.store;
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.store.url });
    client.on('error', () => undefined);
    await client.connect();
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey(this.id)]);
    this.lockClient = client;
    this.stopListening = await this.store.listen(['runs', 'cancel'], (name, payload) => {
      if (name === 'runs') this.kick();
      else this.active.get(payload)?.controller.abort('cancelled');
    });
    await this.recover();
    this.stopped = false;
    this.loop = this.run();
  }

  /** Finds runs left `running` by workers that are gone and resolves them (retry or fail by policy). */
  async recover(): Promise<string[]> {
    const recovered: string[] = [];
    for (const run of await this.store.runningRuns()) {
      if (!run.worker_id || run.worker_id === this.id) continue;
      if (!(await this.isDead(run.worker_id))) continue;
      if (await this.store.recoverOrphan(run.id, run.worker_id, this.clock.now())) recovered.push(run.id);
    }
    return recovered;
  }

  private async isDead(workerId: string): Promise<boolean> {
    const c = await this.store.pool.connect();
    try {
      const res = await c.query<{ got: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got', [lockKey(workerId)]);
      const got = res.rows[0]?.got ?? false;
      if (got) await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey(workerId)]);
      return got;
    } finally {
      c.release();
    }
  }

  kick(): void {
    this.wakeController.abort();
  }

  private async run(): Promise<void> {
    const concurrency = this.options.concurrency ?? 2;
    while (!this.stopped) {
      try {
        while (!this.stopped && this.active.size < concurrency) {
          const run = await this.store.claimRun(this.id, this.clock.now());
          if (!run) break;
          this.launch(run);
        }
        const next = await this.store.nextRunnableAt();
        const max = this.options.maxIdleMs ?? 30_000;
        const now = this.clock.now().getTime();
        // A run waiting for its retry delay wakes us when due; one held by a run limit waits for a NOTIFY.
        const wait = next && next.getTime() > now ? Math.min(max, next.getTime() - now) : max;
        if (!this.stopped) await this.clock.sleep(wait, this.wakeController.signal);
      } catch (e) {
        this.options.onError?.(e);
        if (!this.stopped) await this.clock.sleep(1000, this.wakeController.signal);
      }
      if (this.wakeController.signal.aborted) this.wakeController = new AbortController();
    }
  }

  private launch(run: RunRow): void {
    const controller = new AbortController();
    const done = (async () => {
      try {
        // A cancel that arrived between the claim and now.
        if (await this.store.isCancelRequested(run.id)) controller.abort('cancelled');
        await executeRun({ store: this.store, run, projectsDir: this.options.projectsDir, kernelEnv: this.options.kernelEnv, signal: controller.signal, clock: this.clock });
      } catch (e) {
        this.options.onError?.(e);
        await this.store.setRunStatus(run.id, 'failed', this.clock.now(), `the worker failed while running it: ${errorMessage(e)}`).catch(() => undefined);
      } finally {
        this.active.delete(run.id);
        this.kick();
      }
    })();
    this.active.set(run.id, { controller, done });
  }

  /** Runs this worker is executing now. */
  activeRuns(): string[] {
    return [...this.active.keys()];
  }

  /** Stops claiming; runs in flight are stopped and put back in the queue to resume later. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    await this.loop;
    for (const a of this.active.values()) a.controller.abort('shutdown');
    await Promise.all([...this.active.values()].map((a) => a.done));
    await this.stopListening?.();
    await this.lockClient?.end().catch(() => undefined);
    this.lockClient = null;
  }
}
