import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';

/** Whether a process with this pid still exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the kernel's DuckDB spills. The database itself is in memory, bounded by its memory limit:
 * past that, DuckDB moves table blocks and operator state into this folder, so a 5-million-row
 * output costs disk, not RAM. (A database file cost ~30% more per materialised output: every
 * table was compressed and written even when it fit in memory.) The folder belongs to this
 * process and is removed on exit; what killed kernels left behind, including the database files
 * of earlier versions, is removed on the next start.
 */
export async function spillDirectory(dataDir: string): Promise<string> {
  const dir = path.join(dataDir, 'tmp');
  await fs.mkdir(dir, { recursive: true });
  for (const name of await fs.readdir(dir)) {
    const pid = /^kernel-.*-(\d+)\.duckdb(\.wal)?$|^duckdb-(\d+)$/.exec(name);
    const owner = Number(pid?.[1] ?? pid?.[3]);
    if (owner && owner !== process.pid && !processAlive(owner)) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  }
  const spill = path.join(dir, `duckdb-${process.pid}`);
  process.on('exit', () => rmSync(spill, { recursive: true, force: true }));
  return spill;
}
