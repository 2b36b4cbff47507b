import { promises as fs } from 'node:fs';
import path from 'node:path';
import { notFound } from '../errors';
import { ADD_ON_FOLDERS, ADD_ON_KINDS, ADD_ON_LISTS, BLOCK_FOLDERS, BLOCK_TYPES, IDENTIFIER_PATTERN, LANGUAGE_EXTENSIONS, TYPE_LANGUAGES, type AddOnKind, type Pipeline } from '../pipeline/model';
import { parsePipeline } from '../pipeline/parse-pipeline';
import { type BlockFile, type ProjectFiles } from '../protocol/editor-api';
import { writeFileAtomic } from '../atomic-write';
import { guardPath } from './paths';
import { pipelineFile } from './pipeline-write';
import { conflict, MISSING_VERSION, versionOf, withFileLock } from './versions';

/** The pipeline as metadata.yaml has it now, or null when it does not parse. */
async function pipelineNow(projectDir: string, pipeline: string): Promise<Pipeline | null> {
  let text: string;
  try {
    text = await fs.readFile(pipelineFile(projectDir, pipeline), 'utf8');
  } catch {
    throw notFound(`pipeline "${pipeline}" not found`);
  }
  const parsed = parsePipeline(text, `pipelines/${pipeline}/metadata.yaml`, pipeline);
  return parsed.ok ? parsed.value : null;
}

/** The project-relative file of a block of the pipeline, as metadata.yaml names it. */
async function blockFileOf(projectDir: string, pipeline: string, block: string): Promise<string> {
  const found = (await pipelineNow(projectDir, pipeline))?.blocks.find((b) => b.uuid === block);
  if (!found) throw notFound(`block "${block}" is not in pipeline ${pipeline}`);
  return found.file;
}

/**
 * The file of an add-on block the pipeline lists (conditionals/<uuid>.ts, callbacks/<uuid>.ts): only
 * a listed one, so this API reads and writes nothing that metadata.yaml does not name.
 */
async function addOnFileOf(projectDir: string, pipeline: string, kind: AddOnKind, uuid: string): Promise<string> {
  const found = (await pipelineNow(projectDir, pipeline))?.[ADD_ON_LISTS[kind]].find((a) => a.uuid === uuid);
  if (!found) throw notFound(`${kind} "${uuid}" is not in pipeline ${pipeline}`);
  return found.file;
}

export async function readBlockFile(projectDir: string, pipeline: string, block: string): Promise<BlockFile> {
  return readPipelineFile(projectDir, await blockFileOf(projectDir, pipeline, block));
}

export async function readAddOnFile(projectDir: string, pipeline: string, kind: AddOnKind, uuid: string): Promise<BlockFile> {
  return readPipelineFile(projectDir, await addOnFileOf(projectDir, pipeline, kind, uuid));
}

/** Saves an add-on's code as saveBlockFile saves a block's: atomically, only over `version`. */
export async function saveAddOnFile(projectDir: string, pipeline: string, kind: AddOnKind, uuid: string, content: string, version: string): Promise<{ file: string; version: string }> {
  return saveProjectFile(projectDir, await addOnFileOf(projectDir, pipeline, kind, uuid), content, version);
}

/** A file metadata.yaml names, with its version; a missing one reads as empty (MISSING_VERSION creates it). */
async function readPipelineFile(projectDir: string, file: string): Promise<BlockFile> {
  // Outside the try: a path the guard refuses is an error, not a missing file.
  const abs = guardPath(projectDir, file);
  try {
    const content = await fs.readFile(abs, 'utf8');
    return { file, content, version: versionOf(content) };
  } catch {
    return { file, content: '', version: MISSING_VERSION };
  }
}

/**
 * Saves a block's code atomically, only over the version the editor loaded: if the file changed
 * on disk or in another tab since, the save is refused as a conflict and nothing is overwritten.
 */
export async function saveBlockFile(projectDir: string, pipeline: string, block: string, content: string, version: string): Promise<{ file: string; version: string }> {
  return saveProjectFile(projectDir, await blockFileOf(projectDir, pipeline, block), content, version);
}

/**
 * Saves a project file by its project-relative path (`transformers/clean.ts`), through the path
 * guard (invalid_input for `..`, absolute paths, links that leave the project) and only over
 * `version` (versionOf its text, or MISSING_VERSION to create it): else a conflict, and nothing is
 * written; text identical to the file's succeeds without writing. Used for a block's code and for restoring a file a run pinned, whose block may since
 * have been renamed or removed from the pipeline.
 */
export async function saveProjectFile(projectDir: string, file: string, content: string, version: string): Promise<{ file: string; version: string }> {
  const abs = guardPath(projectDir, file);
  return withFileLock(abs, async () => {
    let current: string = MISSING_VERSION;
    try {
      current = versionOf(await fs.readFile(abs, 'utf8'));
    } catch {
      current = MISSING_VERSION;
    }
    // Two tabs of one browser share a draft, so both may save the same text: the second finds it
    // already there, which is agreement, not a conflict.
    if (current === versionOf(content)) return { file, version: current };
    if (current !== version) throw conflict(`${file} changed since it was loaded (in another tab or on disk); your edits are kept in the editor`);
    await writeFileAtomic(abs, content);
    return { file, version: versionOf(content) };
  });
}

/** A project file's text now, or null when it does not exist (the path guard still throws invalid_input). */
export async function readProjectFile(projectDir: string, file: string): Promise<string | null> {
  const abs = guardPath(projectDir, file);
  try {
    return await fs.readFile(abs, 'utf8');
  } catch {
    return null;
  }
}

/** Every block file in the project, for the file browser and "add an existing block". */
export async function listBlockFiles(projectDir: string): Promise<ProjectFiles['files']> {
  const files: ProjectFiles['files'] = [];
  for (const type of BLOCK_TYPES) {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(path.join(projectDir, BLOCK_FOLDERS[type]));
    } catch {
      continue;
    }
    for (const entry of entries.sort()) {
      // Only the languages the type is written in: markdowns/x.ts or sensors/x.md is no block's file.
      const language = TYPE_LANGUAGES[type].find((l) => entry.endsWith(`.${LANGUAGE_EXTENSIONS[l]}`));
      if (!language) continue;
      const uuid = entry.slice(0, -(LANGUAGE_EXTENSIONS[language].length + 1));
      if (IDENTIFIER_PATTERN.test(uuid)) files.push({ path: `${BLOCK_FOLDERS[type]}/${entry}`, type, language, uuid });
    }
  }
  return files;
}

/** Every add-on file in the project (conditionals/, callbacks/), for "add an existing add-on". */
export async function listAddOnFiles(projectDir: string): Promise<ProjectFiles['addOns']> {
  const found: ProjectFiles['addOns'] = [];
  for (const kind of ADD_ON_KINDS) {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(path.join(projectDir, ADD_ON_FOLDERS[kind]));
    } catch {
      continue;
    }
    for (const entry of entries.sort()) {
      const uuid = entry.endsWith('.ts') ? entry.slice(0, -3) : '';
      if (IDENTIFIER_PATTERN.test(uuid)) found.push({ path: `${ADD_ON_FOLDERS[kind]}/${entry}`, kind, uuid });
    }
  }
  return found;
}
