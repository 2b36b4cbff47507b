import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Project-relative paths (forward slashes) of the files in the given folders (read at once: a worker loads a pipeline between a run's claim and its first block). */
export async function listFiles(root: string, folders: readonly string[]): Promise<Set<string>> {
  const listed = await Promise.all(folders.map((folder) => fs.readdir(path.join(root, folder)).then((entries) => entries.map((e) => `${folder}/${e}`), () => [])));
  return new Set(listed.flat());
}
