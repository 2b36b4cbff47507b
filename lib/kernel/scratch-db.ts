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
 * The kernel's DuckDB lives in a scratch file, not in memory: tables are then compressed and
 * buffer-managed, so a 5-million-row output costs disk, not RAM. The file belongs to this process
 * (it is removed on exit); files left by kernels that were killed are removed on the next start.
 */
export async function scratchDatabase(dataDir: string, pipeline: string): Promise<{ file: string; spill: string }> {
  const dir = path.join(dataDir, 'tmp');
  await fs.mkdir(dir, { recursive: true });
  for (const name of await fs.readdir(dir)) {
    const pid = /^kernel-.*-(\d+)\.duckdb(\.wal)?$|^duckdb-(\d+)$/.exec(name);
    const owner = Number(pid?.[1] ?? pid?.[3]);
    if (owner && owner !== process.pid && !processAlive(owner)) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  }
  const file = path.join(dir, `kernel-${pipeline}-${process.pid}.duckdb`);
  const spill = path.join(dir, `duckdb-${process.pid}`);
  process.on('exit', () => {
    for (const f of [file, `${file}.wal`, spill]) rmSync(f, { recursive: true, force: true });
  });
  return { file, spill };
}
