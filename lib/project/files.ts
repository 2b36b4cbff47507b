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

/** Project-relative paths (forward slashes) of the files in the given folders. */
export async function listFiles(root: string, folders: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const folder of folders) {
    let entries: string[];
    try {
      entries = await fs.readdir(path.join(root, folder));
    } catch {
      continue;
    }
    for (const e of entries) found.add(`${folder}/${e}`);
  }
  return found;
}
