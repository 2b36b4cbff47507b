import { promises as fs } from 'node:fs';
import { guardPath } from '../access/path-guard';
import { type RunLifecycleHooks } from '../engine/lifecycle-hooks';
import { type RunSettings } from '../engine/run-settings';
import { type JsonObject } from '../pipeline/model';
import { type PinnedFile } from './code-repository';
import { recordRunInStore } from './record-run';
import { type Store } from './store';

/**
 * The files a run of `planned` blocks executes, as they read now: each block's file and the
 * pipeline's metadata.yaml (the text the run's settings were loaded from). A block file that
 * cannot be read is left out: the block will fail saying why.
 */
export async function runCodeFiles(projectDir: string, settings: RunSettings, planned: readonly string[]): Promise<PinnedFile[]> {
  const files: PinnedFile[] = [{ path: `pipelines/${settings.pipeline.uuid}/metadata.yaml`, content: settings.metadataText }];
  const wanted = new Set(planned);
  for (const block of settings.pipeline.blocks) {
    if (!wanted.has(block.uuid)) continue;
    try {
      files.push({ path: block.file, content: await fs.readFile(guardPath(projectDir, block.file), 'utf8') });
    } catch {
      continue;
    }
  }
  return files;
}

export interface LiveRun {
  store: Store;
  runId: string;
  kind: 'editor' | 'cli';
  project: string;
  projectDir: string;
  settings: RunSettings;
  /** The blocks the run will run, in order (lib/run/plan.ts). */
  planned: readonly string[];
  variables: JsonObject;
  executionDate: Date;
  /** A user id or `cli:<os user>`. */
  startedBy: string | null;
  /** The process driving the run, holding its liveness lock (presence.ts). */
  ownerId: string;
}

/**
 * Records a run that its own process drives (the editor, `grimoire run`): the run row (already
 * running), the exact code it runs, and hooks that keep its block runs, attempts, logs and final
 * status up to date behind the run, never slowing it (the row is written while the first block
 * starts). Returns the function that writes the rest at the end, rejecting with the reason if the
 * run could not be recorded.
 */
export function recordLiveRun(run: LiveRun, hooks: RunLifecycleHooks): () => Promise<void> {
  const prepare = (async () => {
    await run.store.runs.createLive({
    id: run.runId,
    project: run.project,
    pipeline: run.settings.pipeline.uuid,
    kind: run.kind,
    executionDate: run.executionDate,
    variables: run.variables,
    startedBy: run.startedBy,
    ownerId: run.ownerId,
    blocks: run.planned,
    });
    await run.store.code.pin(run.runId, await runCodeFiles(run.projectDir, run.settings, run.planned));
  })();
  return recordRunInStore(hooks, run.store, { detached: true, finishRun: true, prepare });
}
