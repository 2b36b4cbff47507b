import type pg from 'pg';

/** Where a statement runs: the pool (its own transaction) or a client inside the caller's transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

/**
 * NOTIFY channels: `runs` rings workers, `cancel` names a run to stop, `triggers` wakes the
 * scheduler, `run_changes` (from table triggers, migration 2) tells servers a run changed,
 * `access_changes` (migration 3) that users, sessions or tokens changed.
 */
export type Channel = 'runs' | 'cancel' | 'triggers' | 'run_changes' | 'access_changes';

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * What the repositories need of the store: the pool, transactions and the doorbells. An interface
 * rather than the Store class so that the repositories, which the Store holds, never import it.
 */
export interface Db {
  readonly pool: pg.Pool;
  /** The schema every table lives in; also names this store's advisory locks and channels. */
  readonly schema: string;
  /** Runs `work` in one transaction on one client: committed when it resolves, rolled back when it throws. */
  tx<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** pg_notify on this store's channel `name`; inside the caller's transaction when `on` is one (sent at commit). */
  notify(name: Channel, payload?: string, on?: Queryable): Promise<void>;
}
