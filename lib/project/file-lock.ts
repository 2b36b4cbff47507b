/**
 * One read-compare-write of a project file at a time, across every process that shares the
 * projects folder and the metadata store: two web servers behind a load balancer, or a server and
 * another `grimoire start` on the same folder. Every save and edit of a pipeline's files (block and
 * add-on code, metadata.yaml, triggers.yaml) reads the file, compares it with the version the
 * client loaded and writes it under this lock, so of two requests from one base version exactly
 * one passes the compare, whichever servers receive them.
 *
 * How, in two stages:
 * 1. In this process, callers for one file queue on a promise chain (`inProcess`), so a caller
 *    waiting here holds nothing: no database connection, no lock.
 * 2. The head of that queue takes one pooled connection of the store, opens a transaction and takes
 *    `pg_advisory_xact_lock` on a key made from the file's path relative to the projects folder (so
 *    servers that mount the folder at different paths agree). It waits while another process holds
 *    the key; COMMIT or ROLLBACK frees it, and so does the connection dying, so a crashed server
 *    never leaves a file locked. The transaction touches no table. Advisory locks belong to the
 *    database, not a schema: servers coordinate when their stores are on one Postgres database.
 *
 * A lock taken inside another's work (an edit that renames a block file, a rename that rewrites other
 * pipelines' files) joins the outer lock's transaction, skipping stage 1: one connection per
 * outermost lock, so nested locks never wait for a second pooled connection, and every wait by a
 * caller that already holds something is a wait inside Postgres, which detects deadlocks (two
 * processes taking two files in opposite orders) and fails one side: that request gets a conflict.
 * A nested lock stays held until the outermost one ends.
 *
 * The queue of stage 1 lives in this module, so each copy of it (lib/process-slot.ts: Next's bundle
 * and the custom server's modules) has its own; stage 2 keeps those copies apart as it keeps
 * processes apart.
 *
 * Without a store in the process (tests and scripts that call lib/project directly; `grimoire
 * start` always has one) only stage 1 runs: one process is then safe, and it coordinates with
 * nothing else on the folder.
 *
 * Limits: should Postgres drop the lock's connection while the work runs (a restart), the work is
 * not undone and another process may take the lock before it ends; the work's own writes are
 * atomic (lib/atomic-write.ts), so no file is torn, but a concurrent edit could then be lost.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import type pg from 'pg';
import { UserError } from '../errors';
import { orchestration } from '../scheduler/slot';

/** How long a request waits for a file another process holds before it is refused as a conflict. */
const LOCK_WAIT = '30s';

/** The shared coordinator of this process: the store's pool and the folder keys are relative to. */
interface SharedLocks {
  pool: pg.Pool;
  projectsDir: string;
}

/** The transaction an outermost lock holds, which the locks taken inside its work join. */
interface HeldLocks {
  client: pg.PoolClient;
  /** Keys already locked in this transaction: taking one again is free. */
  keys: Set<string>;
  /** False once the outermost lock ended: a straggler of its work must not use the connection. */
  open: boolean;
}

/** Stage 1: per file, the settled end of the last caller's turn in this process. */
const inProcess = new Map<string, Promise<unknown>>();
/**
 * Outermost locks holding a pooled connection now, and the callers waiting for a turn. At most half
 * the pool is held this way: work under a lock may need a connection of its own (a trigger edit
 * mirrors triggers.yaml into the store), which it must always be able to get.
 */
const holders: { count: number; waiting: (() => void)[] } = { count: 0, waiting: [] };
/** The held transaction of the work running now, if any (per async call chain). */
const held = new AsyncLocalStorage<HeldLocks>();

/**
 * Runs `work` (read `file`, compare, write) while no other caller in any process sharing the store
 * runs work under the same file's lock. `file` is an absolute path. Resolves or rejects as `work`
 * does; besides, rejects with a UserError `conflict` when the lock could not be had: another process
 * held it longer than LOCK_WAIT, or Postgres found a deadlock between two such requests. A failure
 * to reach the store rejects with its error (a 500 to the client), before `work` ran.
 */
export function withFileLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const shared = sharedLocks();
  if (!shared) return queueInProcess(file, work);
  const key = lockKey(shared.projectsDir, file);
  const outer = held.getStore();
  if (outer?.open) return joinHeld(outer, key, file, work);
  return queueInProcess(file, () => holdAcross(shared.pool, key, file, work));
}

/** Stage 1: one caller per file at a time in this process; a failed turn does not stop the next. */
function queueInProcess<T>(file: string, work: () => Promise<T>): Promise<T> {
  const previous = inProcess.get(file) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.catch(() => undefined);
  inProcess.set(file, settled);
  void settled.then(() => {
    if (inProcess.get(file) === settled) inProcess.delete(file);
  });
  return next;
}

/** Stage 2 for an outermost lock: a transaction of its own holding the key while `work` runs. */
async function holdAcross<T>(pool: pg.Pool, key: string, file: string, work: () => Promise<T>): Promise<T> {
  await takeHolderTurn(Math.max(1, Math.floor((pool.options.max ?? 10) / 2)));
  try {
    return await holdOn(await pool.connect(), key, file, work);
  } finally {
    endHolderTurn();
  }
}

/** Waits until fewer than `limit` outermost locks hold a connection, then counts this one in. */
async function takeHolderTurn(limit: number): Promise<void> {
  if (holders.count < limit) {
    holders.count++;
    return;
  }
  // endHolderTurn hands its turn straight over: the count stays as it is.
  await new Promise<void>((resolve) => holders.waiting.push(resolve));
}

function endHolderTurn(): void {
  const next = holders.waiting.shift();
  if (next) next();
  else holders.count--;
}

/** Holds `key` in a transaction on `client` while `work` runs, then ends it and returns the client to the pool. */
async function holdOn<T>(client: pg.PoolClient, key: string, file: string, work: () => Promise<T>): Promise<T> {
  const locks: HeldLocks = { client, keys: new Set(), open: true };
  let broken: Error | undefined;
  try {
    try {
      await client.query('BEGIN');
      // Local to this transaction: the pool's other users keep the server's default.
      await client.query(`SET LOCAL lock_timeout = '${LOCK_WAIT}'`);
    } catch (e) {
      throw lockFailure(e, file);
    }
    await lockKeyIn(locks, key, file);
    const result = await held.run(locks, work);
    locks.open = false;
    // Frees the key. A lost connection here means the lock went with it (see the module's Limits):
    // the work is done and stays done.
    await client.query('COMMIT').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(String(e));
    });
    return result;
  } catch (e) {
    locks.open = false;
    await client.query('ROLLBACK').catch((rollback: unknown) => {
      broken = rollback instanceof Error ? rollback : new Error(String(rollback));
    });
    throw e;
  } finally {
    // A connection whose transaction did not end cleanly is dropped, never pooled with a lock held.
    client.release(broken);
  }
}

/** A lock taken inside another's work: the key joins the outer transaction, held until it ends. */
async function joinHeld<T>(locks: HeldLocks, key: string, file: string, work: () => Promise<T>): Promise<T> {
  await lockKeyIn(locks, key, file);
  return work();
}

/** Takes `key` in the held transaction (waiting while another process holds it), once. */
async function lockKeyIn(locks: HeldLocks, key: string, file: string): Promise<void> {
  if (locks.keys.has(key)) return;
  try {
    await locks.client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
  } catch (e) {
    throw lockFailure(e, file);
  }
  locks.keys.add(key);
}

/** The advisory-lock key of `file`: by its path in the projects folder, the same from every server. */
function lockKey(projectsDir: string, file: string): string {
  const relative = path.relative(projectsDir, file);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  return `grimoire.file.${inside ? relative.split(path.sep).join('/') : path.resolve(file)}`;
}

/** The store this process coordinates through, when it runs one (see the module comment). */
function sharedLocks(): SharedLocks | undefined {
  let running: ReturnType<typeof orchestration>;
  try {
    running = orchestration();
  } catch {
    // No orchestration in this process: no store to coordinate through.
    return undefined;
  }
  return { pool: running.store.pool, projectsDir: running.projectsDir };
}

/** Postgres's SQLSTATEs for "the lock could not be had": a timeout, a deadlock, an aborted transaction. */
const REFUSED_STATES = new Set(['55P03', '40P01', '25P02']);

/** A lock wait Postgres gave up on becomes a conflict (409); anything else is thrown as it is. */
function lockFailure(e: unknown, file: string): unknown {
  const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : '';
  if (!REFUSED_STATES.has(code)) return e;
  return new UserError('conflict', `${path.basename(file)} is being changed by another request (on this or another server); reload and try again`);
}
