import pg from 'pg';

const lockKey = (ownerId: string) => `grimoire.worker.${ownerId}`;

/** A process's claim to be alive, held on a connection of its own; `release` ends it. */
export interface LivenessLock {
  ownerId: string;
  release(): Promise<void>;
}

/**
 * Takes the session advisory lock that says "process `ownerId` is alive" (workers, the editor's
 * server, `grimoire run`). Postgres drops it with the connection when the process dies, so
 * recovery learns of a death from the database, never from timing. Throws when Postgres cannot
 * be reached.
 */
export async function holdLivenessLock(url: string, ownerId: string): Promise<LivenessLock> {
  const client = new pg.Client({ connectionString: url });
  // A dropped connection shows up as a lost lock to others; nothing to do here.
  client.on('error', () => undefined);
  await client.connect();
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey(ownerId)]);
  return { ownerId, release: () => client.end().catch(() => undefined) };
}

/** Whether the process `ownerId` is gone: nobody holds its liveness lock. */
export async function isOwnerGone(pool: pg.Pool, ownerId: string): Promise<boolean> {
  const c = await pool.connect();
  try {
    const res = await c.query<{ got: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got', [lockKey(ownerId)]);
    const got = res.rows[0]?.got ?? false;
    if (got) await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey(ownerId)]);
    return got;
  } finally {
    c.release();
  }
}
