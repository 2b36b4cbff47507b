import { promises as fs } from 'node:fs';
import path from 'node:path';
import { invalidInput, notFound } from '../errors';
import { formatIssue } from '../pipeline/issues';
import { addTrigger, parseTriggers, patchTrigger, removeTrigger, type Trigger, type TriggerPatch } from '../pipeline/triggers';
import { writeFileAtomic } from '../atomic-write';
import { listPipelines, listProjects, projectDir } from '../project/load';
import { safeJoin } from '../project/paths';
import { withFileLock } from '../project/versions';
import { type Store } from '../store/store';
import { checkCron } from './schedule';

/** pipelines/<p>/triggers.yaml: the file is the definition, the store mirrors it (file and UI always in sync). */
export function triggersFile(dir: string, pipeline: string): string {
  return safeJoin(path.join(dir, 'pipelines'), pipeline, 'triggers.yaml');
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
}

export type TriggerFileResult = { ok: true; triggers: Trigger[] } | { ok: false; message: string };

export async function readTriggerFile(dir: string, pipeline: string): Promise<TriggerFileResult> {
  const text = await readText(triggersFile(dir, pipeline));
  if (text === null) return { ok: true, triggers: [] };
  const parsed = parseTriggers(text, checkCron, `pipelines/${pipeline}/triggers.yaml`);
  return parsed.ok ? { ok: true, triggers: parsed.value } : { ok: false, message: parsed.issues.map(formatIssue).join('\n') };
}

/** Reads one pipeline's triggers.yaml into the store; a bad file keeps the last good triggers and says why. */
export async function syncPipelineTriggers(store: Store, dir: string, project: string, pipeline: string, now: Date): Promise<TriggerFileResult> {
  const result = await readTriggerFile(dir, pipeline);
  if (result.ok) await store.triggers.sync(project, pipeline, result.triggers, now);
  else await store.triggers.markFileInvalid(project, pipeline, result.message);
  return result;
}

/** Every pipeline of every project under the projects folder; returns the pipeline folders it read. */
export async function syncAllTriggers(store: Store, projectsDir: string, now: Date): Promise<string[]> {
  const folders: string[] = [];
  for (const project of await listProjects(projectsDir)) {
    const dir = await projectDir(projectsDir, project);
    for (const pipeline of await listPipelines(dir)) {
      await syncPipelineTriggers(store, dir, project, pipeline, now);
      folders.push(path.dirname(triggersFile(dir, pipeline)));
    }
  }
  return folders;
}

export type TriggerChange = { kind: 'create'; name: string; patch: TriggerPatch } | { kind: 'update'; name: string; patch: TriggerPatch } | { kind: 'delete'; name: string };

/**
 * A UI edit: applied to triggers.yaml through the YAML Document API (only the edited fields change),
 * validated before anything is written, written atomically, then mirrored into the store.
 * A file that cannot be parsed is never overwritten: the edit is refused with the file's problem.
 */
export async function changeTrigger(store: Store, projectsDir: string, project: string, pipeline: string, change: TriggerChange, now: Date): Promise<Trigger[]> {
  const dir = await projectDir(projectsDir, project);
  if (!(await listPipelines(dir)).includes(pipeline)) throw notFound(`pipeline "${pipeline}" not found in project ${project}`);
  const file = triggersFile(dir, pipeline);
  return withFileLock(file, async () => {
    const before = (await readText(file)) ?? '';
    const current = parseTriggers(before, checkCron);
    if (!current.ok) throw invalidInput(`pipelines/${pipeline}/triggers.yaml has problems; fix the file first (it was not changed):\n${current.issues.map(formatIssue).join('\n')}`);
    let after: string;
    try {
      after =
        change.kind === 'create'
          ? addTrigger(before, change.name, change.patch)
          : change.kind === 'update'
            ? patchTrigger(before, change.name, change.patch)
            : removeTrigger(before, change.name);
    } catch (e) {
      throw (e instanceof Error && /not in triggers.yaml/.test(e.message)) ? notFound(e.message) : invalidInput(e instanceof Error ? e.message : String(e));
    }
    const parsed = parseTriggers(after, checkCron, `pipelines/${pipeline}/triggers.yaml`);
    if (!parsed.ok) throw invalidInput(parsed.issues.map((i) => i.message).join('\n'));
    await writeFileAtomic(file, after);
    await store.triggers.sync(project, pipeline, parsed.value, now);
    return parsed.value;
  });
}
