import type pg from 'pg';

/**
 * How long a statement keeps trying while Postgres is away (a restart, a failover, every backend
 * terminated): long enough for a restart, short enough that a database that is really gone
 * surfaces as an error. Milliseconds.
 */
export const RECONNECT_WINDOW_MS = 60_000;

/** SQLSTATEs that mean "this connection is gone or the server is not up yet", never "this statement is wrong". */
const CONNECTION_STATES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** node-postgres says so in words only. */
const CONNECTION_MESSAGES = [/Connection terminated/i, /connection error and is not queryable/i, /Client was closed and is not queryable/i, /timeout exceeded when trying to connect/i, /the database system is (starting up|shutting down|in recovery mode)/i];

/** Whether `e` says the connection to Postgres was lost or could not be made (worth trying again), not that the statement failed. */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = 'code' in e && typeof e.code === 'string' ? e.code : '';
  if (CONNECTION_STATES.has(code) || CONNECTION_CODES.has(code)) return true;
  return CONNECTION_MESSAGES.some((m) => m.test(e.message));
}

/**
 * Runs `work` and, while it fails for a lost connection, again after a back-off (50 ms doubling to
 * 1 s) until `windowMs` has passed since the first failure; then the last error is thrown. Any
 * other error is thrown at once. `work` must be safe to repeat: a statement whose connection died
 * did not commit (a COMMIT lost on its way back is the one exception, and the store's writes are
 * idempotent or guarded by their own WHERE for it).
 */
export async function withReconnect<T>(work: () => Promise<T>, windowMs = RECONNECT_WINDOW_MS): Promise<T> {
  let firstFailure: number | null = null;
  let delay = 50;
  for (;;) {
    try {
      return await work();
    } catch (e) {
      if (!isConnectionError(e)) throw e;
      const now = Date.now();
      firstFailure ??= now;
      if (now - firstFailure >= windowMs) throw e;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1_000);
    }
  }
}

/**
 * Makes a pool ride out Postgres restarts and killed backends: `pool.query(text, values)` and
 * `pool.connect()` (their promise forms, the only ones Grimoire and pg-boss use) try again through
 * `withReconnect`. A connection that breaks inside a transaction is the caller's to retry
 * (Store.tx does, as a whole). Returns the same pool.
 */
export function reconnecting(pool: pg.Pool, windowMs = RECONNECT_WINDOW_MS): pg.Pool {
  const query = pool.query.bind(pool);
  const connect = pool.connect.bind(pool);
  // Overloaded signatures cannot be re-implemented without a cast; the promise form is forwarded
  // unchanged and a callback form is passed straight through.
  const retryingQuery = (text: string | pg.QueryConfig, values?: unknown[]) => withReconnect(() => query(text, values), windowMs);
  pool.query = ((text: string | pg.QueryConfig, values?: unknown) =>
    typeof values === 'function' || (typeof text === 'object' && 'submit' in text) ? query(text, values as never) : retryingQuery(text, Array.isArray(values) ? values : undefined)) as pg.Pool['query'];
  pool.connect = ((callback?: unknown) => (typeof callback === 'function' ? connect(callback as never) : withReconnect(() => connect(), windowMs))) as pg.Pool['connect'];
  // A client taken from the pool has no 'error' listener of pg-pool's until it is given back: a
  // backend terminated between two statements of a transaction emitted an 'error' nobody heard,
  // which ended the whole process (seen in the outage test). The next statement on that client
  // fails with a connection error instead, which its caller retries on a new connection.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}
