import path from 'node:path';
import { openDatabase } from '../db/database';
import { startOrchestration } from './orchestrator';

/**
 * `grimoire worker`: only executes runs (no web server, no scheduler), against the same database
 * as `grimoire start` (DATABASE_URL, or the embedded server of the projects folder). Several may run.
 */
export async function workerCommand(projectsDir: string, options: { concurrency: number; queues: readonly string[]; graceMs: number }): Promise<void> {
  const { concurrency } = options;
  const root = path.resolve(projectsDir);
  const database = await openDatabase(path.join(root, '.grimoire'));
  const orchestration = await startOrchestration({
    url: database.url,
    projectsDir: root,
    kernelEnv: database.kernelEnv,
    roles: { scheduler: false, worker: true },
    workerConcurrency: concurrency,
    workerQueues: options.queues,
    workerGraceMs: options.graceMs,
  });
  process.stdout.write(`Grimoire worker ${orchestration.worker?.id ?? ''} is running (projects: ${root}, ${concurrency} runs at once, queues: ${orchestration.worker?.queues.join(', ') ?? ''})\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      // Drains: running blocks get the grace period, the rest of each run goes back to the queue and resumes elsewhere.
      void orchestration
        .close()
        .then(() => database.close())
        .finally(() => process.exit(0));
    });
  }
}
