import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { notFound, UserError } from '../errors';
import { writeFileAtomic } from '../atomic-write';
import { exists } from './files';
import { safeJoin } from './paths';
import { withFileLock } from './versions';

const pipelineDir = (projectDir: string, name: string) => safeJoin(path.join(projectDir, 'pipelines'), name);

/**
 * Runs `work` (a rename or a delete of pipeline `name`'s folder) under the locks of the files that
 * edits of it write: metadata.yaml (editor edits) and triggers.yaml (trigger edits). An edit in
 * flight, on this server or another, lands before the folder moves, rather than after it and into a
 * recreated folder that holds only that one file; an edit that comes later finds the pipeline gone.
 * Always metadata.yaml first, as no writer takes them the other way round.
 */
function withPipelineFilesLocked<T>(projectDir: string, name: string, work: () => Promise<T>): Promise<T> {
  const pipelines = path.join(projectDir, 'pipelines');
  return withFileLock(safeJoin(pipelines, name, 'metadata.yaml'), () => withFileLock(safeJoin(pipelines, name, 'triggers.yaml'), work));
}

const taken = (name: string) => new UserError('conflict', `a pipeline named "${name}" already exists`);

async function mustExist(projectDir: string, name: string): Promise<string> {
  const dir = pipelineDir(projectDir, name);
  if (!(await exists(path.join(dir, 'metadata.yaml')))) throw notFound(`pipeline "${name}" not found`);
  return dir;
}

/** Sets name and uuid through the YAML document, so comments and unknown keys survive. */
async function renameInMetadata(dir: string, name: string): Promise<void> {
  const file = path.join(dir, 'metadata.yaml');
  const doc = parseDocument(await fs.readFile(file, 'utf8'));
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw new UserError('invalid_pipeline', `${file} is not valid YAML: fix it first`);
  doc.set('name', name);
  doc.set('uuid', name);
  await writeFileAtomic(file, doc.toString());
}

export async function createPipeline(projectDir: string, name: string): Promise<void> {
  const dir = pipelineDir(projectDir, name);
  if (await exists(dir)) throw taken(name);
  await fs.mkdir(path.dirname(dir), { recursive: true });
  await writeFileAtomic(path.join(dir, 'metadata.yaml'), `name: ${name}\nuuid: ${name}\ntype: batch\nvariables: {}\nblocks: []\n`);
}

export async function renamePipeline(projectDir: string, from: string, to: string): Promise<void> {
  const target = pipelineDir(projectDir, to);
  await withPipelineFilesLocked(projectDir, from, async () => {
    const source = await mustExist(projectDir, from);
    if (from === to) return;
    if (await exists(target)) throw taken(to);
    await fs.rename(source, target);
    await renameInMetadata(target, to);
  });
}

/** A clone shares the block files (as in Mage): only the pipeline's own folder is copied. */
export async function clonePipeline(projectDir: string, from: string, to: string): Promise<void> {
  const source = await mustExist(projectDir, from);
  const target = pipelineDir(projectDir, to);
  if (await exists(target)) throw taken(to);
  await fs.cp(source, target, { recursive: true, errorOnExist: true, force: false });
  await renameInMetadata(target, to);
}

/** Removes the pipeline's folder; block files stay, since other pipelines may use them. */
export async function deletePipeline(projectDir: string, name: string): Promise<void> {
  await withPipelineFilesLocked(projectDir, name, async () => {
    const dir = await mustExist(projectDir, name);
    await fs.rm(dir, { recursive: true, force: true });
  });
}
