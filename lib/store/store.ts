import pg from 'pg';
import { BackfillRepository } from './backfill-repository';
import { BlockRunRepository } from './block-run-repository';
import { CodeRepository } from './code-repository';
import { StoreError, type Channel, type Db, type Queryable } from './db';
import { DeferredQueue } from './deferred-queue';
import { type JobQueue } from './job-queue';
import { LogRepository } from './log-repository';
import { MIGRATIONS } from './migrations';
import { PgBossQueue } from './pg-boss-queue';
import { isConnectionError, reconnecting, withReconnect } from './reconnect';
import { RunPageReads } from './run-page-reads';
import { RunRepository } from './run-repository';
import { TriggerRepository } from './trigger-repository';
import { WorkerRepository } from './worker-repository';

export interface StoreOptions {
  /** postgres:// URL of the server (embedded or DATABASE_URL). */
  url: string;
  /** Every table lives in this schema (tests use one per file). */
  schema?: string;
  poolSize?: number;
  /** Run pg-boss maintenance (expiry, archiving) from this process: the orchestrating ones do. */
  maintainQueue?: boolean;
  /**
   * When the job queue opens: `open` (default) with the store, so a queue that cannot be prepared
   * fails Store.open; `first-use` when it is first used (a run enqueued, work started, jobs
   * counted: DeferredQueue), for processes that seldom need it (`grimoire run` records its own
   * run with no job).
   */
  queue?: 'open' | 'first-use';
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]*$/;

/**
 * The metadata store: pipeline runs, block runs with every transition and attempt, logs, triggers
 * and backfills in Postgres, one repository per concern, and the job queue that carries runs to
 * workers. Every repository method is one statement or one transaction; the database is the truth
 * that schedulers and workers (in this process or others) coordinate through. The Store itself owns
 * what they share: the pool, the migrations, transactions and NOTIFY channels.
 */
export class Store implements Db {
  readonly triggers: TriggerRepository;
  readonly runs: RunRepository;
  readonly blockRuns: BlockRunRepository;
  readonly logs: LogRepository;
  readonly backfills: BackfillRepository;
  readonly code: CodeRepository;
  /** Processes that drive runs, their heartbeats, and finding the lost ones. */
  readonly workers: WorkerRepository;
  /** Read-only: the run page's block runs, children a page at a time. */
  readonly runPages: RunPageReads;

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    readonly url: string,
    readonly queue: JobQueue<Queryable>,
  ) {
    this.triggers = new TriggerRepository(this);
    this.blockRuns = new BlockRunRepository(this);
    this.runs = new RunRepository(this, queue, this.blockRuns);
    this.logs = new LogRepository(this);
    this.backfills = new BackfillRepository(this, this.runs);
    this.code = new CodeRepository(this);
    this.workers = new WorkerRepository(this);
    this.runPages = new RunPageReads(this);
  }

  /** Connects, applies pending migrations and opens the pg-boss queue (see StoreOptions.queue); throws StoreError when any of it fails. */
  static async open(options: StoreOptions): Promise<Store> {
    const schema = options.schema ?? 'grimoire';
    if (!SCHEMA_PATTERN.test(schema)) throw new StoreError(`schema name "${schema}" must be lower-case letters, digits and _`);
    // Statements ride out a Postgres restart or killed backends (reconnect.ts): the server,
    // scheduler and workers carry on by themselves once the database is back.
    const pool = reconnecting(new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 8, options: `-c search_path=${schema}`, connectionTimeoutMillis: 15_000 }));
    // An idle client losing its server (restart) must not crash the process.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, schema);
      const openQueue = () => PgBossQueue.open(pool, `${schema}_queue`, { maintain: options.maintainQueue ?? false });
      const queue =
        options.queue === 'first-use'
          ? new DeferredQueue(() => openQueue().catch((e: unknown) => Promise.reject(new StoreError(`could not open the job queue in schema ${schema}_queue: ${e instanceof Error ? e.message : String(e)}`))))
          : await openQueue();
      return new Store(pool, schema, options.url, queue);
    } catch (e) {
      await pool.end();
      throw new StoreError(`could not prepare the metadata store in schema ${schema}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Applies the migrations not yet applied (see `migrate`); returns their versions. */
  async migrate(): Promise<number[]> {
    return migrate(this.pool, this.schema);
  }

  /** Versions of the migrations applied to this schema, ascending. */
  async appliedMigrations(): Promise<number[]> {
    return (await this.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
  }

  /**
   * Runs `work` in a transaction. One whose connection broke (a restart, a killed backend) did not
   * commit and runs again as a whole on a new connection, so `work` must only touch the database.
   */
  async tx<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withReconnect(async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        // A broken connection goes, rather than back to the pool.
        if (isConnectionError(e) && e instanceof Error) broken = e;
        else await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release(broken);
      }
    });
  }

  /** NOTIFY channel of this store (per schema, so tests and workspaces never hear each other). */
  channel(name: Channel): string {
    return `${this.schema}_${name}`;
  }

  async notify(name: Channel, payload = '', on: Queryable = this.pool): Promise<void> {
    await on.query('SELECT pg_notify($1, $2)', [this.channel(name), payload]);
  }

  /**
   * A dedicated connection LISTENing on the channels; returns a stop function. When the connection
   * is lost (a restart, a killed backend) it reconnects, every 0.5 s until it can, and then calls
   * `onReconnect`: notifications sent meanwhile are gone, so the listener looks at what it missed.
   * Throws if the first connection cannot be made.
   */
  async listen(names: readonly Channel[], onNotify: (name: string, payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>> {
    const byChannel = new Map(names.map((n) => [this.channel(n), n]));
    let stopped = false;
    let client: pg.Client | null = null;
    /** A connection was lost and not yet replaced; `reconnecting` is the loop replacing it. */
    let lost = false;
    let reconnecting: Promise<void> | null = null;
    const reconnect = () => {
      lost = true;
      reconnecting ??= (async () => {
        // Until a connection stands: one lost again while this loop runs sets `lost` once more.
        while (lost && !stopped) {
          lost = false;
          await new Promise((r) => setTimeout(r, 500));
          try {
            await open();
            if (!stopped) onReconnect?.();
          } catch {
            lost = true;
          }
        }
        reconnecting = null;
      })();
    };
    const open = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.url });
      c.on('error', () => undefined);
      c.on('notification', (m) => {
        const name = byChannel.get(m.channel);
        if (name) onNotify(name, m.payload ?? '');
      });
      try {
        await c.connect();
        for (const channel of byChannel.keys()) await c.query(`LISTEN ${channel}`);
      } catch (e) {
        await c.end().catch(() => undefined);
        throw e;
      }
      client = c;
      c.once('end', () => {
        if (!stopped && client === c) reconnect();
      });
      if (stopped) await c.end().catch(() => undefined);
    };
    await open();
    return async () => {
      stopped = true;
      await client?.end().catch(() => undefined);
    };
  }

  /** Closes the queue (stopping its fetch loops) and then the pool. */
  async close(): Promise<void> {
    await this.queue.close();
    await this.pool.end();
  }
}

/** Applies the migrations not yet applied, in one transaction under a lock so two processes cannot race. */
async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const applied: number[] = [];
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`grimoire.migrate.${schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
  return applied;
}
