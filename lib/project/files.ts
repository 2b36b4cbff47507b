import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writerTag } from './leftovers';

/** Write to a temp file beside the target, then rename: readers see the old or the new file, never half. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Named after this process, so a crash's leftover is removed at the next start (leftovers.ts).
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${writerTag()}.tmp`);
  try {
    await fs.writeFile(tmp, content, { flag: 'wx' });
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

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
