import { promises as fs } from 'node:fs';
import path from 'node:path';

/** What a file or folder holds: bytes (apparent sizes of its regular files) and how many files. */
export interface Size {
  bytes: number;
  files: number;
}

export const NOTHING: Size = { bytes: 0, files: 0 };

export function addSizes(a: Size, b: Size): Size {
  return { bytes: a.bytes + b.bytes, files: a.files + b.files };
}

/**
 * The size of `place`, a file or a folder walked to the bottom. Symbolic links are not followed (a
 * link to elsewhere is not this folder's disk), and a place that is missing, or vanishes while it
 * is walked (a run removing its folder), counts as nothing. Apparent sizes, not blocks: the same
 * figure on every file system, and what deleting the files frees to within a block per file.
 */
export async function sizeOf(place: string): Promise<Size> {
  let stat;
  try {
    stat = await fs.lstat(place);
  } catch {
    return NOTHING;
  }
  if (stat.isFile()) return { bytes: stat.size, files: 1 };
  if (!stat.isDirectory()) return NOTHING;
  let entries: string[];
  try {
    entries = await fs.readdir(place);
  } catch {
    return NOTHING;
  }
  let total = NOTHING;
  for (const name of entries) total = addSizes(total, await sizeOf(path.join(place, name)));
  return total;
}

/** Names of the folders directly inside `dir` (none when it is missing). */
export async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}
