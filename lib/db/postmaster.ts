/**
 * The embedded PostgreSQL's server process seen from outside: who owns it, whether it answers,
 * and stopping one whose owner is gone. The owner is the Grimoire process that started (or took
 * over) the server; its pid is kept beside the data folder as `<folder>.owner`, so a later start
 * can tell a server another live process runs (join it) from one a crashed process left (take it
 * over, or stop it), instead of leaving it running forever.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { writeFileAtomic } from '../atomic-write';
import { processAlive } from '../kernel/spill';
import { type PostgresCoordinates } from './coordinates';

function ownerFile(dataDir: string): string {
  return path.join(path.dirname(dataDir), `${path.basename(dataDir)}.owner`);
}

/** The owner's pid from `<dataDir>.owner`, or null when there is none (or it is unreadable). */
export async function readOwner(dataDir: string): Promise<number | null> {
  try {
    const pid = Number((await fs.readFile(ownerFile(dataDir), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Records this process as the owner of the server of `dataDir` (written whole, then renamed). */
export async function writeOwner(dataDir: string): Promise<void> {
  await writeFileAtomic(ownerFile(dataDir), `${process.pid}\n`);
}

/**
 * Whether process `pid` runs: it exists and is not a zombie. A server whose parent died may stay
 * a zombie where nothing reaps orphans (a container's first process), and signal 0 still reaches it.
 */
export function running(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (command) state ...": the command may hold spaces and parentheses, the state follows the last ")".
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    // No /proc (macOS): signal 0 is all there is.
    return true;
  }
}

/** Whether the server at `coordinates` accepts a login and runs `SELECT 1` within `timeoutMs`. */
export async function answers(coordinates: PostgresCoordinates, timeoutMs = 5000): Promise<boolean> {
  const client = new pg.Client({ ...coordinates, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A server that breaks the connection later must not throw from the client's event emitter.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return done();
}

/**
 * Stops the server process `pid` of `dataDir` that this process did not start: a fast shutdown
 * (SIGINT: sessions end, data is written out cleanly), and SIGKILL if it has not ended within
 * `graceMs` (a server that hangs). Resolves once it is gone and its postmaster.pid with it, so a
 * new server can start on the folder at once.
 */
export async function stopPostmaster(dataDir: string, pid: number, graceMs = 30_000): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const pidFileGone = () =>
    fs.access(pidFile).then(
      () => false,
      () => true,
    );
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    // Already gone.
  }
  if (await waitUntil(async () => !running(pid) && (await pidFileGone()), graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone meanwhile.
  }
  await waitUntil(() => !running(pid), 5000);
  // A killed server leaves its postmaster.pid; a zombie's pid would still look alive to the next start.
  await fs.rm(pidFile, { force: true });
}
