import { promises as fs } from 'node:fs';
import path from 'node:path';
import { notFound } from '../errors';
import { PipelineInvalidError } from '../pipeline/issues';
import { ADD_ON_FOLDERS, BLOCK_FOLDERS, type Pipeline } from '../pipeline/model';
import { blockLines, parsePipeline } from '../pipeline/parse-pipeline';
import { validatePipeline } from '../pipeline/validate';
import { exists, listFiles } from './files';
import { safeJoin } from './paths';

export interface LoadedPipeline {
  pipeline: Pipeline;
  projectDir: string;
  /** The metadata.yaml text as read, for edits that keep the user's formatting. */
  text: string;
  file: string;
}

export async function listProjects(root: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(root);
  } catch {
    return [];
  }
  const projects: string[] = [];
  for (const name of entries.sort()) {
    if (name.startsWith('.')) continue;
    if (await exists(path.join(root, name, 'metadata.yaml'))) projects.push(name);
  }
  return projects;
}

/** Resolves a project folder by name under the projects root; a missing one is a clear not_found. */
export async function projectDir(root: string, project: string): Promise<string> {
  const dir = safeJoin(root, project);
  if (!(await exists(path.join(dir, 'metadata.yaml')))) {
    throw notFound(`project "${project}" not found in ${path.resolve(root)} (no metadata.yaml)`);
  }
  return dir;
}

export async function listPipelines(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(path.join(dir, 'pipelines'));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of entries.sort()) {
    if (await exists(path.join(dir, 'pipelines', name, 'metadata.yaml'))) found.push(name);
  }
  return found;
}

/** Reads, parses and validates one pipeline; throws PipelineInvalidError listing every problem. */
export async function loadPipeline(dir: string, pipelineUuid: string): Promise<LoadedPipeline> {
  const file = safeJoin(path.join(dir, 'pipelines'), pipelineUuid, 'metadata.yaml');
  const rel = `pipelines/${pipelineUuid}/metadata.yaml`;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    const known = await listPipelines(dir);
    throw notFound(
      `pipeline "${pipelineUuid}" not found in project ${path.basename(dir)} (pipelines: ${known.join(', ') || 'none'})`,
    );
  }
  const parsed = parsePipeline(text, rel, pipelineUuid);
  if (!parsed.ok) throw new PipelineInvalidError(parsed.issues);
  const files = await listFiles(dir, [...Object.values(BLOCK_FOLDERS), ...Object.values(ADD_ON_FOLDERS)]);
  const issues = validatePipeline(parsed.value, rel, files, blockLines(text));
  if (issues.length > 0) throw new PipelineInvalidError(issues);
  return { pipeline: parsed.value, projectDir: dir, text, file };
}
