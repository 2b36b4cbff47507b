/**
 * The Parquet files that hold block outputs in a cache folder: their one naming rule, how a copy
 * is made durable before a block counts as completed, and which blocks have a complete one.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { safeJoin } from '../access/path-guard';

/** Longest output name kept whole in a file name (file systems allow 255 bytes per name). */
const LONGEST_NAME = 200;

/**
 * The file name an output (or a cached output, block-cache.ts) is kept under: the name itself, or,
 * past 200 characters (a long uuid with a dynamic child's keys), its start and a hash of the whole.
 */
export function outputFileName(name: string, extension: string): string {
  if (name.length <= LONGEST_NAME) return `${name}.${extension}`;
  return `${name.slice(0, 150)}.${createHash('sha256').update(name).digest('hex').slice(0, 16)}.${extension}`;
}

/**
 * The output file of block run `uuid` in `cacheDir`: `<cacheDir>/<uuid>.parquet` (outputFileName).
 * Throws (the path guard's error) for a uuid that is not a plain name, such as `../x`.
 */
export function outputFile(cacheDir: string, uuid: string): string {
  return safeJoin(cacheDir, outputFileName(uuid, 'parquet'));
}

/**
 * Where a copy of `file` is written before it is renamed into place: `<file>.<pid>.tmp`. The pid
 * names the writer, so the start-up sweep (lib/project/leftovers.ts) removes only the copies of
 * processes that are gone.
 */
export function outputDraft(file: string): string {
  return `${file}.${process.pid}.tmp`;
}

/** Parquet files begin and end with these 4 bytes; a file cut short lacks the trailing ones. */
const PARQUET_MAGIC = Buffer.from('PAR1');

/**
 * Makes a finished draft the output `file` by renaming it into place: a process killed at any
 * point (SIGKILL, a crash) leaves the file whole or absent, never torn, since written bytes live
 * in the OS's cache whatever becomes of the writer. Unlike saves (lib/atomic-write.ts), outputs
 * are not flushed to disk first: that cost ~3 ms per block, and what a power cut could leave (an
 * absent or cut-short file) is what durableOutputs checks for, so a resumed run makes the output
 * again. Throws the file system's error; the draft is removed then.
 */
export async function commitOutput(draft: string, file: string): Promise<void> {
  try {
    await fs.rename(draft, file);
  } catch (e) {
    await fs.rm(draft, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** Whether `file` is a whole Parquet file: the magic bytes at both ends (a few bytes read). */
async function isWholeParquet(file: string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return false;
  }
  try {
    const { size } = await handle.stat();
    if (size < 2 * PARQUET_MAGIC.length) return false;
    const head = Buffer.alloc(PARQUET_MAGIC.length);
    const tail = Buffer.alloc(PARQUET_MAGIC.length);
    await handle.read(head, 0, head.length, 0);
    await handle.read(tail, 0, tail.length, size - tail.length);
    return head.equals(PARQUET_MAGIC) && tail.equals(PARQUET_MAGIC);
  } finally {
    await handle.close();
  }
}

/**
 * Which of `blocks` (block uuids) have a complete output file in `cacheDir` (the kernel's
 * `cacheDir`, e.g. a run's `<runDir>/cache`), so a resumed run can re-run any completed block
 * whose output is missing. Complete means present under its final name with Parquet's magic bytes
 * at both ends: a file the kernel committed (see commitOutput), not a draft. Reads only the first
 * and last 4 bytes of each file. A uuid that is not a plain name, or a missing folder, counts as
 * no output; never throws for those.
 */
export async function durableOutputs(cacheDir: string, blocks: readonly string[]): Promise<Set<string>> {
  const found = await Promise.all(
    blocks.map(async (uuid) => {
      let file: string;
      try {
        file = outputFile(cacheDir, uuid);
      } catch {
        return null;
      }
      return (await isWholeParquet(file)) ? uuid : null;
    }),
  );
  return new Set(found.filter((uuid): uuid is string => uuid !== null));
}
