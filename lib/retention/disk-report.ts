/**
 * The disk page's figures: per project and pipeline, what run outputs, logs, caches and lakes take,
 * the retention settings in force, and what a sweep would free now (a dry run of sweep-project.ts).
 */
import { listPipelines, listProjects } from '../project/load';
import { safeJoin } from '../project/paths';
import { addFreed, noneFreed, type DiskAnswer, type Freed, type DiskTotals, type PipelineDisk, type ProjectDisk } from '../protocol/disk-api';
import { type Db } from '../store/db';
import { RetentionRepository, type PipelineUsage } from '../store/retention-repository';
import { cachesOf, lakesOf, readRetentionSettings, runFolders, type RunFolder } from './project-files';
import { sweepProject } from './sweep-project';

const noTotals = (): DiskTotals => ({ outputs: 0, logs: 0, caches: 0, lake: 0, wouldFree: noneFreed() });

function addTotals(a: DiskTotals, b: DiskTotals): DiskTotals {
  return { outputs: a.outputs + b.outputs, logs: a.logs + b.logs, caches: a.caches + b.caches, lake: a.lake + b.lake, wouldFree: addFreed(a.wouldFree, b.wouldFree) };
}

/** Every project on disk or in the store, with its pipelines' figures, at `now`. */
export async function diskReport(options: { store: Db; projectsDir: string; now: Date; sweepEveryMs: number | null }): Promise<DiskAnswer> {
  const repo = new RetentionRepository(options.store);
  const onDisk = await listProjects(options.projectsDir);
  const names = [...new Set([...onDisk, ...(await repo.projects())])].sort();
  const projects: ProjectDisk[] = [];
  for (const project of names) projects.push(await projectReport(repo, options.projectsDir, project, onDisk.includes(project), options.now));
  return { at: options.now.toISOString(), sweepEveryMs: options.sweepEveryMs, projects, totals: projects.reduce((sum, p) => addTotals(sum, p.totals), noTotals()) };
}

async function projectReport(repo: RetentionRepository, projectsDir: string, project: string, exists: boolean, now: Date): Promise<ProjectDisk> {
  let dir: string | null = null;
  if (exists) {
    try {
      dir = safeJoin(projectsDir, project);
    } catch {
      dir = null;
    }
  }
  const usage = new Map<string, PipelineUsage>((await repo.usage(project)).map((u) => [u.pipeline, u]));
  const folders: RunFolder[] = dir ? await runFolders(dir) : [];
  const states = new Map((await repo.states(folders.map((f) => f.id))).map((s) => [s.id, s]));
  const settings = dir ? await readRetentionSettings(dir) : { ok: false as const, errors: ['the project folder is gone: its runs and logs are kept'] };
  const wouldFree = dir && settings.ok ? await sweepProject({ repo, project, settings: settings.value, folders, now, dryRun: true }) : new Map<string, Freed>();
  const filed = dir ? await listPipelines(dir) : [];
  const pipelines: PipelineDisk[] = [];
  const lakeBytes = new Map<string, number>();
  for (const pipeline of [...new Set([...filed, ...usage.keys()])].sort()) {
    const mine = folders.filter((f) => {
      const s = states.get(f.id);
      return s !== undefined && s.project === project && s.pipeline === pipeline;
    });
    const caches = dir ? await cachesOf(dir, pipeline) : null;
    const lakes = dir ? await lakesOf(dir, pipeline) : { places: [], error: null };
    for (const l of lakes.places) if (l.full && l.size) lakeBytes.set(l.full, l.size.bytes);
    const u = usage.get(pipeline);
    pipelines.push({
      pipeline,
      onDisk: filed.includes(pipeline),
      runs: u?.runs ?? 0,
      outputs: { folders: mine.length, bytes: mine.reduce((n, f) => n + f.size.bytes, 0), files: mine.reduce((n, f) => n + f.size.files, 0) },
      logs: { lines: u?.lines ?? 0, bytes: u?.bytes ?? 0 },
      caches: { editor: caches?.editor.bytes ?? 0, block: caches?.block.bytes ?? 0 },
      lake: lakes.places.map((l) => ({ block: l.block, path: l.path, where: l.where, bytes: l.size?.bytes ?? null, files: l.size?.files ?? null })),
      lakeError: lakes.error,
      wouldFree: wouldFree.get(pipeline) ?? noneFreed(),
    });
  }
  const unknown = folders.filter((f) => {
    const s = states.get(f.id);
    return s === undefined || s.project !== project;
  });
  const totals: DiskTotals = {
    outputs: folders.reduce((n, f) => n + f.size.bytes, 0),
    logs: pipelines.reduce((n, p) => n + p.logs.bytes, 0),
    caches: pipelines.reduce((n, p) => n + p.caches.editor + p.caches.block, 0),
    // A lake two pipelines write is counted once.
    lake: [...lakeBytes.values()].reduce((n, b) => n + b, 0),
    wouldFree: pipelines.reduce((sum, p) => addFreed(sum, p.wouldFree), noneFreed()),
  };
  return {
    project,
    onDisk: dir !== null,
    settings: settings.ok ? settings.value : null,
    settingsErrors: settings.ok ? [] : settings.errors,
    pipelines,
    unknownOutputs: { folders: unknown.length, bytes: unknown.reduce((n, f) => n + f.size.bytes, 0) },
    totals,
  };
}
