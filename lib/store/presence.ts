import os from 'node:os';
import pg from 'pg';
import { HEARTBEAT_MS, livenessKey, type WorkerInfo, type WorkerRepository } from './worker-repository';
import { type WorkerKind } from './types';

/** Grimoire's version, as the workers page shows it. */
const VERSION = process.env.npm_package_version ?? '0.1.0';

/** A process's claim to be alive: a liveness lock plus heartbeats in the `workers` table. */
export interface Presence {
  /** The id runs name as their `worker_id`. */
  ownerId: string;
  /** True once another process found this one lost and moved its runs away. */
  readonly lost: boolean;
  /** Called once, when a heartbeat finds this process marked lost: stop driving its runs. */
  onLost(listener: () => void): void;
  /** Takes no more runs (a worker draining before it stops). */
  drain(): Promise<void>;
  /** Ends the heartbeats and the lock, and marks the row stopped. */
  release(): Promise<void>;
}

export interface PresenceOptions {
  url: string;
  workers: WorkerRepository;
  ownerId: string;
  kind: WorkerKind;
  queues?: readonly string[];
  concurrency?: number;
  heartbeatMs?: number;
}

/**
 * Says "process `ownerId` is alive" two ways, so that neither a crash nor a database restart is
 * mistaken for the other (worker-repository.ts `isGone`):
 * - a session advisory lock on a connection of its own, dropped by Postgres the moment the process
 *   dies, and taken again after the connection is lost (a restart, a killed backend);
 * - a heartbeat of its `workers` row every `heartbeatMs`, with its memory; a heartbeat that finds
 *   the row marked lost calls `onLost` listeners.
 * Throws when Postgres cannot be reached at the start.
 */
export async function holdPresence(options: PresenceOptions): Promise<Presence> {
  const info: WorkerInfo = {
    id: options.ownerId,
    kind: options.kind,
    host: os.hostname(),
    pid: process.pid,
    version: VERSION,
    queues: options.queues ?? [],
    concurrency: options.concurrency ?? 0,
  };
  await options.workers.register(info);
  let released = false;
  let lost = false;
  const listeners: (() => void)[] = [];
  let lock: pg.Client | null = null;
  /** The lock's connection was lost and not yet replaced; `relocking` is the loop replacing it. */
  let unlocked = false;
  let relocking: Promise<void> | null = null;
  const relock = () => {
    unlocked = true;
    relocking ??= (async () => {
      // Until a lock stands: a connection lost again while this loop runs sets `unlocked` once more.
      while (unlocked && !released) {
        unlocked = false;
        await new Promise((r) => setTimeout(r, 250));
        try {
          await takeLock();
        } catch {
          unlocked = true;
        }
      }
      relocking = null;
    })();
  };

  const takeLock = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: options.url });
    // A dropped connection shows up as a lost lock to others, and is taken again below.
    client.on('error', () => undefined);
    try {
      await client.connect();
      // A machine that vanishes (power, network) sends no FIN: without keepalives Postgres would
      // hold its lock, and its runs, for the OS default of two hours. With these it notices in ~25 s.
      await client.query('SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3');
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [livenessKey(options.ownerId)]);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    lock = client;
    client.once('end', () => {
      if (!released && lock === client) relock();
    });
    if (released) await client.end().catch(() => undefined);
  };
  await takeLock();

  const beat = async () => {
    const status = await options.workers.heartbeat(options.ownerId, process.memoryUsage.rss()).catch(() => undefined);
    if (status === 'lost' && !lost) {
      lost = true;
      for (const l of listeners) l();
    }
  };
  const timer = setInterval(() => void beat(), options.heartbeatMs ?? HEARTBEAT_MS);
  timer.unref();

  return {
    ownerId: options.ownerId,
    get lost() {
      return lost;
    },
    onLost: (listener) => {
      listeners.push(listener);
    },
    drain: () => options.workers.setStatus(options.ownerId, 'draining'),
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      await options.workers.setStatus(options.ownerId, 'stopped').catch(() => undefined);
      await lock?.end().catch(() => undefined);
    },
  };
}
