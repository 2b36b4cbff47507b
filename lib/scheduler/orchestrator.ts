import { Store } from '../store/store';
import { Worker } from '../worker/worker';
import { RetentionSweeper } from '../retention/sweeper';
import { type Clock, systemClock } from '../clock';
import { Scheduler } from './scheduler';
import { setOrchestration, type Orchestration } from './slot';
import { syncAllTriggers } from './trigger-files';
import { TriggerFileWatcher } from './trigger-watch';

export interface OrchestrationOptions {
  /** postgres:// URL of the metadata database. */
  url: string;
  projectsDir: string;
  schema?: string;
  kernelEnv?: Record<string, string>;
  /** `start` runs both; `worker` only executes runs. */
  roles?: { scheduler: boolean; worker: boolean };
  workerConcurrency?: number;
  /** The queues the worker serves (`grimoire worker --queue`); default ['default']. */
  workerQueues?: readonly string[];
  /** How long a stopping worker lets running blocks finish (ms); default 30 s. */
  workerGraceMs?: number;
  clock?: Clock;
  /** How often triggers.yaml files are re-read for hand edits (UI edits apply at once). */
  resyncMs?: number;
  /** Milliseconds between retention sweeps (processes with the scheduler role); default 10 minutes, 0: none. */
  retentionSweepMs?: number;
  log?: (line: string) => void;
}

/**
 * One process, several roles (the Airflow picture done as one program): the metadata store, the
 * scheduler that turns triggers into runs, and a worker that executes them. `grimoire start` runs all
 * of it; `grimoire worker` only the worker, against the same database.
 */
export async function startOrchestration(options: OrchestrationOptions): Promise<Orchestration> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const roles = options.roles ?? { scheduler: true, worker: true };
  const store = await Store.open({ url: options.url, schema: options.schema, maintainQueue: true });
  const worker = roles.worker
    ? new Worker({ store, projectsDir: options.projectsDir, kernelEnv: options.kernelEnv, concurrency: options.workerConcurrency, queues: options.workerQueues, graceMs: options.workerGraceMs, clock, onError: (e) => log(`worker: ${e instanceof Error ? e.message : String(e)}`) })
    : null;
  let lastSync = 0;
  const resync = async () => {
    const now = clock.now().getTime();
    if (now - lastSync < (options.resyncMs ?? 30_000)) return;
    lastSync = now;
    fileWatcher?.follow(await syncAllTriggers(store, options.projectsDir, clock.now()));
  };
  // A hand edit of a triggers.yaml: read everything again now, then let the scheduler look.
  const fileWatcher = roles.scheduler
    ? new TriggerFileWatcher(() => {
        lastSync = 0;
        void resync().then(
          () => scheduler?.wake(),
          (e: unknown) => log(`scheduler: ${e instanceof Error ? e.message : String(e)}`),
        );
      })
    : null;
  const scheduler = roles.scheduler
    ? new Scheduler(store, {
        clock,
        maxSleepMs: options.resyncMs ?? 30_000,
        beforeTick: resync,
        onRunsCreated: () => worker?.kick(),
        onError: (e) => log(`scheduler: ${e instanceof Error ? e.message : String(e)}`),
      })
    : null;
  if (scheduler) await resync();
  await worker?.start();
  // Also after the database was away: a trigger changed meanwhile was never announced.
  const stopListening = scheduler ? await store.listen(['triggers'], () => scheduler.wake(), () => scheduler.wake()) : null;
  scheduler?.start();
  // Retention runs beside the scheduler; the sweep lock lets one server sweep at a time (lib/retention/sweeper.ts).
  const retention = roles.scheduler && options.retentionSweepMs !== 0 ? new RetentionSweeper({ store, projectsDir: options.projectsDir, clock, everyMs: options.retentionSweepMs, log }) : null;
  retention?.start();
  let closing: Promise<void> | null = null;
  const o: Orchestration = {
    store,
    scheduler,
    worker,
    retention,
    projectsDir: options.projectsDir,
    clock,
    triggersChanged: () => scheduler?.wake(),
    close: () =>
      (closing ??= (async () => {
        setOrchestration(undefined);
        fileWatcher?.close();
        await stopListening?.();
        await retention?.stop();
        await scheduler?.stop();
        await worker?.stop();
        await store.close();
      })()),
  };
  setOrchestration(o);
  return o;
}
