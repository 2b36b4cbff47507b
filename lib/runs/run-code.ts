/**
 * The code a pipeline run ran, beside the files as they are now, and restoring it: what the run
 * page's "Code" view and its "Restore this version" button use (GET /api/runs/<id>/code and
 * POST /api/runs/<id>/code/restore). Writes go through the editor's own save path
 * (lib/server/editor-service.ts), so the path guard, compare-and-swap and the tabs' broadcast apply.
 */
import { relativeSegments } from '../access/path-guard';
import { notFound, UserError, userErrorCode } from '../errors';
import { parsePipeline } from '../pipeline/parse-pipeline';
import { MISSING_VERSION, versionOf } from '../project/versions';
import { projectFileText, saveFileOfPipeline, savePipelineYaml } from '../server/editor-service';
import { type Store } from '../store/store';

/** What of the store this needs: runs and their pinned code. */
export type RunCodeStore = Pick<Store, 'runs' | 'code'>;

/** One file a run pinned, with the same file now. */
export interface RunCodeFile {
  /** Project-relative, e.g. `transformers/clean.ts` or `pipelines/etl/metadata.yaml`. */
  path: string;
  /** sha256 hex of `content`. */
  hash: string;
  /** The text the run ran. */
  content: string;
  /** The file's text now; null when it is gone (or the project is). */
  current: string | null;
  /** The editor's version of `current` (MISSING_VERSION when gone): send it back to restore over exactly that. */
  current_version: string;
}

export interface RunCode {
  /** Every pinned file, by path; empty for a run from before code was pinned. */
  files: RunCodeFile[];
  /** Block uuid -> its file, as the run's pinned metadata.yaml says (so renamed or removed blocks still map). */
  blocks: Record<string, string>;
}

/** The project-relative path of a pipeline's metadata.yaml (as runs pin it). */
export function pipelineMetadataPath(pipeline: string): string {
  return `pipelines/${pipeline}/metadata.yaml`;
}

/**
 * Block uuid -> project-relative file, read from the pinned metadata.yaml of `pipeline` among
 * `pinned`; empty when it is missing or does not parse. Pure.
 */
export function blockFilesOfRun(pinned: readonly { path: string; content: string }[], pipeline: string): Map<string, string> {
  const metadata = pinned.find((f) => f.path === pipelineMetadataPath(pipeline));
  if (!metadata) return new Map();
  const parsed = parsePipeline(metadata.content, metadata.path, pipeline);
  return parsed.ok ? new Map(parsed.value.blocks.map((b) => [b.uuid, b.file])) : new Map();
}

/** A file's text now; null when the file, its folder or the project is gone (or the guard refuses a pinned path). */
async function currentText(project: string, file: string): Promise<string | null> {
  try {
    return await projectFileText(project, file);
  } catch (e) {
    if (userErrorCode(e) !== null) return null;
    throw e;
  }
}

/** The code run `runId` pinned, each file beside its text now; not_found when there is no such run. */
export async function runCode(store: RunCodeStore, runId: string): Promise<RunCode> {
  const run = await store.runs.get(runId);
  if (!run) throw notFound(`run ${runId} not found`);
  const pinned = await store.code.ofRun(runId);
  const files = await Promise.all(
    pinned.map(async (f) => {
      const current = await currentText(run.project, f.path);
      return { path: f.path, hash: f.hash, content: f.content, current, current_version: versionOfText(current) };
    }),
  );
  return { files, blocks: Object.fromEntries(blockFilesOfRun(pinned, run.pipeline)) };
}

/**
 * Writes the text run `runId` pinned for `path` back to the project. `version` (current_version as
 * the page loaded it) makes it refuse, as a conflict, a file changed since; without it the file
 * is restored over whatever it holds now. metadata.yaml is checked as a pipeline before it is
 * written (invalid_pipeline); the block files it names are not touched.
 * Errors: invalid_input for a path the guard refuses (`../x`), checked before anything is read;
 * not_found for an unknown run or a path the run did not pin; conflict for a stale version.
 * Returns the path and its new version.
 */
export async function restoreRunFile(store: RunCodeStore, runId: string, path: string, version?: string): Promise<{ path: string; version: string }> {
  relativeSegments(path);
  const run = await store.runs.get(runId);
  if (!run) throw notFound(`run ${runId} not found`);
  const pinned = (await store.code.ofRun(runId)).find((f) => f.path === path);
  if (!pinned) throw notFound(`run ${runId} did not run ${path}: only the files it ran can be restored`);
  const over = version ?? versionOfText(await projectFileText(run.project, path));
  try {
    const saved =
      path === pipelineMetadataPath(run.pipeline)
        ? await savePipelineYaml(run.project, run.pipeline, pinned.content, over)
        : await saveFileOfPipeline(run.project, run.pipeline, path, pinned.content, over);
    return { path, version: saved.version };
  } catch (e) {
    // The save path's conflict speaks of the editor's kept edits; here nothing was being edited.
    if (userErrorCode(e) === 'conflict') throw new UserError('conflict', `${path} changed since this page loaded it: reload the run page to see its text now, then restore again`);
    throw e;
  }
}

function versionOfText(text: string | null): string {
  return text === null ? MISSING_VERSION : versionOf(text);
}
