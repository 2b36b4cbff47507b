/**
 * Write-temp-then-rename, once for every writer: a reader (or a crash) sees the old file or the
 * new one, never half of it. The temp copy sits beside the target (a rename across file systems
 * is not atomic) and is named after the writing process (writerTag), so that the start-up sweep
 * (lib/project/leftovers.ts) removes what a crashed writer left and nothing a live one is writing.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writerTag } from './project/leftovers';

/** The temp copy of `file` a writer fills before commitFile: `.<name>.<pid>-<8 hex>.tmp`, hidden beside it. */
export function draftOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${writerTag()}.tmp`);
}

/**
 * Makes a finished `draft` the file `file`: flushes its bytes to disk (fdatasync), then renames it
 * into place, so even after a power cut the file under its final name is whole or absent, never
 * torn. The folder is not flushed: a power cut may forget the rename, leaving the old file, which
 * every writer here tolerates. Throws the file system's error; the draft is removed then.
 */
export async function commitFile(draft: string, file: string): Promise<void> {
  try {
    const handle = await fs.open(draft, 'r+');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.rename(draft, file);
  } catch (e) {
    await fs.rm(draft, { force: true }).catch(() => undefined);
    throw e;
  }
}

/**
 * Writes `data` to `file` atomically (see commitFile), creating its folder when missing. Throws the
 * file system's error; no temp copy is left behind then.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const draft = draftOf(file);
  try {
    // 'wx': the draft is new, never another writer's file.
    await fs.writeFile(draft, data, { flag: 'wx' });
  } catch (e) {
    await fs.rm(draft, { force: true }).catch(() => undefined);
    throw e;
  }
  await commitFile(draft, file);
}
