/**
 * Temp files that a crash leaves behind, and their removal at the next start. Every writer that
 * writes a temp copy and renames it into place names the copy after its process (writerTag), so
 * that a later start can tell a dead writer's leftover from a file a live process is writing.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { processAlive } from '../kernel/spill';
import { dataDirOf } from './paths';

/**
 * `<pid>-<8 hex>`: the writing process and a random part (two writes in one process never meet).
 * Writers put it in their temp names: `<file>.<tag>.tmp`, `.<file>.<tag>.tmp`, `<file>.<tag>.part`,
 * lake staging folders `<target>.tmp-<tag>` and set-aside folders `<target>.old-<tag>`.
 */
export function writerTag(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Leftovers older than this go even when their writer cannot be told (older names, reused pids). */
export const LEFTOVER_MAX_AGE_MS = 60 * 60 * 1000;

/** Linux's highest possible pid (2^22): a longer run of digits is a random part, not a pid. */
const MAX_PID = 4_194_304;

/** The name of a project's (and a workspace's) data folder: see lib/project/paths.ts. */
const DATA_DIR_NAME = path.basename(dataDirOf('project'));

/** Folders the sweep never enters: dependencies, history, and PostgreSQL's own data folder. */
const SKIPPED = new Set(['node_modules', '.git', 'postgres']);

interface Leftover {
  /** The writer's pid when the name carries one. */
  pid: number | null;
  /** For `<target>.old-<tag>`: the folder it was set aside from (put back if that is missing). */
  setAsideFrom: string | null;
  /**
   * Whether only Grimoire makes such names (a writer tag, or the older save and lake shapes), so
   * it may be removed anywhere in a project; the others only inside a data folder (`.grimoire`),
   * where no user file lives: a user's `report.2.tmp` is not Grimoire's to remove.
   */
  distinctive: boolean;
}

/**
 * What a name says about the temp file it may be, or null for an ordinary file. Distinctive:
 * `x.<pid>-<8 hex>.tmp|part` (writerTag: saves, the secret key, downloads), `x.tmp-<tag>` and
 * `x.old-<tag>` (lake folders; older ones without the pid), `.x.<12 hex>.tmp` (older saves).
 * Only in data folders: `x.<pid>.tmp` (Parquet output drafts, compiled blocks), `x.<8 hex>.part`
 * (older downloads).
 */
export function leftoverOf(name: string): Leftover | null {
  const pidOf = (digits: string | undefined): number | null => {
    const pid = Number(digits);
    return Number.isInteger(pid) && pid > 0 && pid <= MAX_PID ? pid : null;
  };
  let m = /\.(\d+)-[0-9a-f]{8}\.(?:tmp|part)$/.exec(name);
  if (m) return { pid: pidOf(m[1]), setAsideFrom: null, distinctive: true };
  m = /^(.+)\.(tmp|old)-(?:(\d+)-)?[0-9a-f]{8}$/.exec(name);
  if (m?.[1]) return { pid: pidOf(m[3]), setAsideFrom: m[2] === 'old' ? m[1] : null, distinctive: true };
  if (/^\..+\.[0-9a-f]{12}\.tmp$/.test(name)) return { pid: null, setAsideFrom: null, distinctive: true };
  m = /\.(\d+)\.tmp$/.exec(name);
  if (m) return { pid: pidOf(m[1]), setAsideFrom: null, distinctive: false };
  if (/\.[0-9a-f]{8}\.part$/.test(name)) return { pid: null, setAsideFrom: null, distinctive: false };
  return null;
}

/** The newest modification time in a file or folder (a staging folder's files change, not the folder). */
async function newestChange(full: string): Promise<number> {
  const stat = await fs.lstat(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of await fs.readdir(full)) newest = Math.max(newest, await newestChange(path.join(full, entry)));
  return newest;
}

/**
 * Whether a leftover may go: its writer is gone, or nothing changed in it for an hour. A pid that
 * is this process's own is a live writer (a sweep run beside a writer in the same process).
 */
async function abandoned(full: string, leftover: Leftover, now: number): Promise<boolean> {
  if (leftover.pid !== null && leftover.pid !== process.pid && !processAlive(leftover.pid)) return true;
  return now - (await newestChange(full)) > LEFTOVER_MAX_AGE_MS;
}

export interface SweepResult {
  /** Absolute paths removed. */
  removed: string[];
  /** Set-aside lake folders put back where their target was missing (a crash between two renames). */
  restored: string[];
}

/**
 * Removes, under `root` (a project folder or a workspace's projects folder, recursively; never
 * inside node_modules, .git or PostgreSQL's data folder), the temp files and folders that writers
 * which crashed left (see leftoverOf for the names; the less distinctive ones only inside data
 * folders): only those whose writer process is gone or in which nothing changed for an hour,
 * never what a live process is writing. A set-aside lake
 * folder whose target is missing is renamed back instead: it holds the last complete export.
 * A root that does not exist is no error; a file that vanishes meanwhile is skipped.
 */
export async function removeLeftovers(root: string, now = Date.now()): Promise<SweepResult> {
  const result: SweepResult = { removed: [], restored: [] };
  const walk = async (dir: string, inDataDir: boolean): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      const leftover = leftoverOf(entry.name);
      if (leftover === null || !(leftover.distinctive || inDataDir)) {
        // A data folder's tmp/ is DuckDB's spill space, which lib/kernel/spill.ts sweeps by pid.
        const skip = SKIPPED.has(entry.name) || (inDataDir && entry.name === 'tmp');
        if (entry.isDirectory() && !skip) await walk(full, inDataDir || entry.name === DATA_DIR_NAME);
        continue;
      }
      try {
        if (!(await abandoned(full, leftover, now))) continue;
        const target = leftover.setAsideFrom === null ? null : path.join(dir, leftover.setAsideFrom);
        if (target !== null && !(await exists(target))) {
          await fs.rename(full, target);
          result.restored.push(target);
        } else {
          await fs.rm(full, { recursive: true, force: true });
          result.removed.push(full);
        }
      } catch {
        // Gone meanwhile (its writer finished), or not ours to remove: leave it.
      }
    }
  };
  const resolved = path.resolve(root);
  await walk(resolved, path.basename(resolved) === DATA_DIR_NAME);
  return result;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}
