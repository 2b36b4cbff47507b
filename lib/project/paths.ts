import path from 'node:path';

/** Joining names and relative paths under a root goes through the one path guard. */
export { guardPath, safeJoin } from '../access/path-guard';

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
