import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { PgBossQueue } from '../../lib/store/pg-boss-queue';
import { jobQueueContract } from '../support/job-queue-contract';
import { testPostgres, type TestPostgres } from '../support/postgres';

let server: TestPostgres;
let opened = 0;

before(async () => {
  server = await testPostgres();
});
after(async () => server?.close());

/** A pg-boss queue in a schema of its own (dropped by close), so no case sees another's jobs. */
async function openQueue(): Promise<{ queue: PgBossQueue; pool: pg.Pool; close: () => Promise<void> }> {
  const schema = `${server.schema}_q${++opened}`;
  const pool = new pg.Pool({ ...server.coordinates, max: 4 });
  const queue = await PgBossQueue.open(pool, schema, { maintain: false });
  return {
    queue,
    pool,
    close: async () => {
      await queue.close();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    },
  };
}

jobQueueContract(`pg-boss (${process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'embedded PostgreSQL'})`, openQueue);

test('pg-boss: a job is written in the caller transaction, so a rollback leaves none', async () => {
  const { queue, pool, close } = await openQueue();
  try {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await queue.enqueue('rolled-back', { in: client });
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await queue.enqueue('committed', { in: client });
      assert.equal(await queue.pending(), 0, 'not visible before the commit');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    assert.equal(await queue.pending(), 1);
  } finally {
    await close();
  }
});
