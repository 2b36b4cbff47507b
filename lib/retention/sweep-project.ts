/**
 * One retention pass over one project, as a dry run (what the settings would free now) or for real.
 * Both walk the same steps on the same queries, so a sweep right after a dry run frees exactly what
 * it showed. The steps, in order (each counts only what the earlier ones left):
 *
 * 1. `runs_retention_period`: finished runs (completed, failed, cancelled) that finished longer ago,
 *    except those of a backfill still running, go with everything stored under them (block runs,
 *    attempts, events, logs, pinned code lists) and their output folder. Never an initial or running
 *    run. A schedule does not fire again for a removed run: the trigger's cursor, not the run row,
 *    says which executions were decided (scheduler.ts).
 * 2. `variables_retention_period`: output folders of finished runs that finished longer ago.
 * 3. `logs_retention_period`: log lines of finished runs printed longer ago.
 *
 * Not swept: the editor's output cache and configuration.cache (a live kernel may hold views over
 * those files), run folders whose run is not in the store, the lake (user data), code texts.
 */
import { promises as fs } from 'node:fs';
import { addFreed, noneFreed, type Amount, type Freed } from '../protocol/disk-api';
import { type RetentionSettings } from '../pipeline/retention-config';
import { FINISHED_RUN_STATUSES, type RetentionRepository } from '../store/retention-repository';
import { type RunFolder } from './project-files';

/** Runs or folders handled per transaction: each holds row locks while their folders are removed. */
const BATCH = 50;

export interface ProjectPass {
  repo: RetentionRepository;
  project: string;
  settings: RetentionSettings;
  /** The project's run output folders, measured (project-files.ts runFolders). */
  folders: readonly RunFolder[];
  now: Date;
  dryRun: boolean;
  /** Checked between batches: true stops the pass (the sweep lock was lost, or the server stops). */
  stopped?: () => boolean;
}

export class SweepStopped extends Error {
  constructor() {
    super('the sweep stopped before it was done');
    this.name = 'SweepStopped';
  }
}

const FINISHED: ReadonlySet<string> = new Set(FINISHED_RUN_STATUSES);

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Per pipeline, what the pass freed (or would free). */
export async function sweepProject(pass: ProjectPass): Promise<Map<string, Freed>> {
  const { repo, project, settings, now, dryRun } = pass;
  const byPipeline = new Map<string, Freed>();
  const add = (pipeline: string, kind: keyof Freed, amount: Amount) => {
    const freed = noneFreed();
    freed[kind] = amount;
    byPipeline.set(pipeline, addFreed(byPipeline.get(pipeline) ?? noneFreed(), freed));
  };
  const checkStop = () => {
    if (pass.stopped?.()) throw new SweepStopped();
  };
  const cutOf = (ms: number) => new Date(now.getTime() - ms);
  const folderOf = new Map(pass.folders.map((f) => [f.id, f]));
  const removeFolder = async (id: string): Promise<number> => {
    const folder = folderOf.get(id);
    if (!folder) return 0;
    await fs.rm(folder.dir, { recursive: true, force: true });
    return folder.size.bytes;
  };
  const gone = new Set<string>();

  const runsPeriod = settings.runs_retention_period;
  const runsCut = runsPeriod ? cutOf(runsPeriod.ms) : null;
  if (runsCut) {
    const expired = await repo.expiredRuns(project, runsCut);
    if (dryRun) {
      for (const r of expired) add(r.pipeline, 'runs', { items: 1, bytes: r.bytes + (folderOf.get(r.id)?.size.bytes ?? 0) });
      for (const r of expired) gone.add(r.id);
    } else {
      for (const batch of chunks(expired, BATCH)) {
        checkStop();
        // Reset on each attempt: the store runs a transaction again after a lost connection.
        let folderBytes = new Map<string, number>();
        const deleted = await repo.deleteRuns(
          batch.map((r) => r.id),
          runsCut,
          async (runs) => {
            folderBytes = new Map();
            for (const r of runs) folderBytes.set(r.id, await removeFolder(r.id));
          },
        );
        for (const r of deleted) {
          add(r.pipeline, 'runs', { items: 1, bytes: r.bytes + (folderBytes.get(r.id) ?? 0) });
          gone.add(r.id);
        }
      }
    }
  }

  const variablesPeriod = settings.variables_retention_period;
  if (variablesPeriod) {
    const cut = cutOf(variablesPeriod.ms);
    const states = await repo.states(pass.folders.map((f) => f.id).filter((id) => !gone.has(id)));
    const expired = states.filter((s) => s.project === project && FINISHED.has(s.status) && s.completed_at !== null && s.completed_at.getTime() < cut.getTime());
    const pipelineOf = new Map(expired.map((s) => [s.id, s.pipeline]));
    if (dryRun) {
      for (const s of expired) add(s.pipeline, 'variables', { items: 1, bytes: folderOf.get(s.id)?.size.bytes ?? 0 });
    } else {
      for (const batch of chunks(expired, BATCH)) {
        checkStop();
        let removed = new Map<string, number>();
        await repo.withFinishedLocked(
          batch.map((s) => s.id),
          cut,
          async (ids) => {
            removed = new Map();
            for (const id of ids) removed.set(id, await removeFolder(id));
          },
        );
        for (const [id, bytes] of removed) add(pipelineOf.get(id) ?? '', 'variables', { items: 1, bytes });
      }
    }
  }

  const logsPeriod = settings.logs_retention_period;
  if (logsPeriod) {
    const cut = cutOf(logsPeriod.ms);
    if (dryRun) {
      for (const l of await repo.expiredLogs(project, cut, runsCut)) add(l.pipeline, 'logs', { items: l.lines, bytes: l.bytes });
    } else {
      for (;;) {
        checkStop();
        const batch = await repo.deleteLogBatch(project, cut);
        if (batch.length === 0) break;
        for (const l of batch) add(l.pipeline, 'logs', { items: l.lines, bytes: l.bytes });
      }
    }
  }
  return byPipeline;
}
