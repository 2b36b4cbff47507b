/**
 * What grows on disk in one project, found by folder: its retention settings (metadata.yaml), the
 * output folders of worker runs (`.grimoire/runs/<run id>`), the editor's and configuration.cache's
 * caches of a pipeline, and the Parquet lakes its blocks declare. Reads only; every path built from
 * a name goes through the path guard.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isObjectUrl } from '../io/object-path';
import { readDestination } from '../pipeline/destination';
import { parsePipeline } from '../pipeline/parse-pipeline';
import { parseRetentionSettings, type RetentionSettings } from '../pipeline/retention-config';
import { dataDirOf, guardPath, safeJoin } from '../project/paths';
import { addSizes, NOTHING, sizeOf, subfolders, type Size } from './folder-size';

/** The project's retention settings, or why they cannot be read (nothing is swept then). */
export async function readRetentionSettings(projectDir: string): Promise<{ ok: true; value: RetentionSettings } | { ok: false; errors: string[] }> {
  let text: string;
  try {
    text = await fs.readFile(path.join(projectDir, 'metadata.yaml'), 'utf8');
  } catch (e) {
    return { ok: false, errors: [`metadata.yaml could not be read: ${e instanceof Error ? e.message : String(e)}`] };
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    return { ok: false, errors: [`metadata.yaml is not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`] };
  }
  return parseRetentionSettings(data);
}

/** A run's output folder: `<project>/.grimoire/runs/<id>` with what it holds. */
export interface RunFolder {
  id: string;
  dir: string;
  size: Size;
}

/** The output folders of worker runs in the project, measured; names the path guard refuses are left out. */
export async function runFolders(projectDir: string): Promise<RunFolder[]> {
  const root = path.join(dataDirOf(projectDir), 'runs');
  const out: RunFolder[] = [];
  for (const id of await subfolders(root)) {
    let dir: string;
    try {
      dir = safeJoin(root, id);
    } catch {
      continue;
    }
    out.push({ id, dir, size: await sizeOf(dir) });
  }
  return out;
}

/**
 * The caches a pipeline's kernels keep: the editor's outputs (`cache/users/<user>/<pipeline>`, and
 * `cache/<pipeline>` of a kernel without a user) and configuration.cache's entries
 * (`block-cache/<pipeline>`).
 */
export async function cachesOf(projectDir: string, pipeline: string): Promise<{ editor: Size; block: Size }> {
  const data = dataDirOf(projectDir);
  const guarded = async (root: string, ...names: string[]): Promise<Size> => {
    try {
      return await sizeOf(safeJoin(root, ...names));
    } catch {
      return NOTHING;
    }
  };
  let editor = NOTHING;
  const users = path.join(data, 'cache', 'users');
  for (const user of await subfolders(users)) editor = addSizes(editor, await guarded(users, user, pipeline));
  // `cache/users` is the users' folder, not a pipeline's cache.
  if (pipeline !== 'users') editor = addSizes(editor, await guarded(path.join(data, 'cache'), pipeline));
  return { editor, block: await guarded(path.join(data, 'block-cache'), pipeline) };
}

/** A Parquet destination of a block; `full` is its absolute path when it is inside the project. */
export interface LakePlace {
  block: string;
  path: string;
  where: 'project' | 'outside' | 'object_storage';
  full: string | null;
  size: Size | null;
}

/**
 * The project folder a destination path names, through the path guard; null when it leaves the
 * project (`../x`, an absolute path, a link out). `./lake/` and `lake` are the same folder.
 */
function insideProject(projectDir: string, place: string): string | null {
  const normal = path.posix.normalize(place.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (normal === '' || normal === '.' || normal.startsWith('../') || normal === '..' || path.posix.isAbsolute(normal)) return null;
  try {
    return guardPath(projectDir, normal);
  } catch {
    return null;
  }
}

/**
 * The Parquet lakes a pipeline's blocks declare (`configuration.destination` of type parquet),
 * measured when they are inside the project. A lake a block writes from its code is not declared
 * and not listed. The error says why the pipeline's metadata.yaml could not be read.
 */
export async function lakesOf(projectDir: string, pipeline: string): Promise<{ places: LakePlace[]; error: string | null }> {
  let text: string;
  try {
    text = await fs.readFile(safeJoin(path.join(projectDir, 'pipelines'), pipeline, 'metadata.yaml'), 'utf8');
  } catch {
    return { places: [], error: null };
  }
  const parsed = parsePipeline(text, `pipelines/${pipeline}/metadata.yaml`, pipeline);
  if (!parsed.ok) return { places: [], error: parsed.issues.map((i) => i.message).join('; ') };
  const places: LakePlace[] = [];
  for (const block of parsed.value.blocks) {
    const destination = readDestination(block.configuration);
    if (!destination.ok || destination.value === null || destination.value.type !== 'parquet') continue;
    const place = destination.value.path;
    if (isObjectUrl(place)) {
      places.push({ block: block.uuid, path: place, where: 'object_storage', full: null, size: null });
      continue;
    }
    const full = insideProject(projectDir, place);
    places.push({ block: block.uuid, path: place, where: full ? 'project' : 'outside', full, size: full ? await sizeOf(full) : null });
  }
  return { places, error: null };
}
