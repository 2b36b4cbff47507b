import path from 'node:path';
import { FOLDER_NAME_PATTERN } from '../pipeline/model';
import { invalidInput } from '../errors';

/**
 * Joins user-given folder names under a root and refuses anything that could leave it
 * (`..`, separators, absolute paths): names are checked, then the resolved path is checked again.
 */
export function safeJoin(root: string, ...names: string[]): string {
  for (const name of names) {
    if (!FOLDER_NAME_PATTERN.test(name) || name.includes('..')) {
      throw invalidInput(`"${name}" is not a valid name (letters, digits, _ . -; no path separators or "..")`);
    }
  }
  const base = path.resolve(root);
  const full = path.resolve(base, ...names);
  if (full !== base && !full.startsWith(base + path.sep)) throw invalidInput(`"${names.join('/')}" leaves ${base}`);
  return full;
}

/** Runtime state of a project (output cache, logs, compiled blocks): git-ignored, never user code. */
export function dataDirOf(projectDir: string): string {
  return path.join(projectDir, '.grimoire');
}

/**
 * The data folder of the workspace a project lives in (its projects folder): the embedded
 * PostgreSQL lives here, shared by `grimoire start` and `grimoire run` of the same projects.
 */
export function workspaceDataDir(projectDir: string): string {
  return path.join(path.dirname(path.resolve(projectDir)), '.grimoire');
}
