import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { parseIoConfig, requirePostgres } from '../../lib/io/io-config';
import { connectPostgres } from '../../lib/io/postgres-client';
import { exportToPostgres } from '../../lib/io/postgres-export';
import { loadPostgresQuery } from '../../lib/io/postgres-load';
import { testPostgres, type TestPostgres } from '../support/postgres';

let db: TestPostgres;
let duck: DuckDBConnection;
let client: pg.Client;

before(async () => {
  db = await testPostgres();
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  client = await db.client();
  await duck.run(`CREATE TABLE kinds AS SELECT * FROM (VALUES
    (1::BIGINT, 10::INTEGER, 1.5::DOUBLE, 12.34::DECIMAL(10,2), 'plain', true, DATE '2020-10-01', TIMESTAMP '2020-10-01 05:06:07.123456', TIMESTAMPTZ '2020-10-01 05:00:00+00', '\\xAB\\x00'::BLOB, [1, 2], {'a': 1, 'b': 'x'}, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID),
    (NULL, NULL, NULL, NULL, 'comma, "quote"\nnewline', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (3, -7, -0.25, -1.00, '', false, DATE '2020-12-31', TIMESTAMP '2020-12-31 23:59:59', NULL, NULL, [], NULL, NULL)
  ) AS t(big, int, dbl, dec, txt, flag, day, ts, tstz, bin, list, obj, id)`);
});

after(async () => {
  await client?.end();
  duck?.closeSync();
  await db?.close();
});

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await client.query(sql)).rows;
}

test('types survive the trip DuckDB -> Postgres -> DuckDB: timestamps stay timestamps, nullable integers stay integers', async () => {
  const counted: number[] = [];
  const result = await exportToPostgres(duck, 'kinds', client, { schema: db.schema, table: 'kinds', writePolicy: 'replace', onRows: (n) => counted.push(n) });
  assert.equal(result.rows, 3);
  // The live count sees through a quoted newline: it ends at the rows Postgres took, not the lines.
  assert.equal(counted.at(-1), 3);
  const types = await rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${db.schema}' AND table_name = 'kinds' ORDER BY ordinal_position`);
  assert.deepEqual(
    types.map((t) => `${t.column_name}:${t.data_type}`),
    [
      'big:bigint', 'int:integer', 'dbl:double precision', 'dec:numeric', 'txt:text', 'flag:boolean', 'day:date',
      'ts:timestamp without time zone', 'tstz:timestamp with time zone', 'bin:bytea', 'list:jsonb', 'obj:jsonb', 'id:uuid',
    ],
  );
  const pgRows = await rows(`SELECT big, txt, ts::text, tstz AT TIME ZONE 'UTC' AS tstz_utc, encode(bin, 'hex') AS bin, list, obj, id FROM ${db.schema}.kinds ORDER BY big NULLS LAST`);
  assert.equal(pgRows[0]?.big, '1');
  assert.equal(pgRows[0]?.ts, '2020-10-01 05:06:07.123456');
  assert.equal(String(pgRows[0]?.tstz_utc instanceof Date ? pgRows[0].tstz_utc.toISOString() : pgRows[0]?.tstz_utc).slice(0, 16), '2020-10-01T05:00');
  assert.equal(pgRows[0]?.bin, 'ab00');
  assert.deepEqual(pgRows[0]?.list, [1, 2]);
  assert.deepEqual(pgRows[0]?.obj, { a: 1, b: 'x' });
  assert.equal(pgRows[1]?.txt, '');
  assert.equal(pgRows[2]?.big, null);
  assert.equal(pgRows[2]?.txt, 'comma, "quote"\nnewline');

  await loadPostgresQuery(client, `SELECT big, int, dbl, dec, txt, flag, day, ts FROM ${db.schema}.kinds ORDER BY big NULLS LAST;`, duck, 'back', false);
  const back = await duck.runAndReadAll('SELECT * FROM back');
  assert.deepEqual(back.columnTypes().map(String), ['BIGINT', 'INTEGER', 'DOUBLE', 'DECIMAL(10,2)', 'VARCHAR', 'BOOLEAN', 'DATE', 'TIMESTAMP']);
  const original = await duck.runAndReadAll('SELECT big, int, dbl, dec, txt, flag, day, ts FROM kinds ORDER BY big NULLS LAST');
  assert.deepEqual(back.getRowsJson(), original.getRowsJson());
});

test('write policies: replace swaps the rows, append adds, fail refuses and leaves the table alone', async () => {
  await duck.run('CREATE TABLE two AS SELECT range AS id FROM range(2)');
  const opts = { schema: db.schema, table: 'policy' } as const;
  await exportToPostgres(duck, 'two', client, { ...opts, writePolicy: 'replace' });
  await exportToPostgres(duck, 'two', client, { ...opts, writePolicy: 'replace' });
  assert.equal((await rows(`SELECT count(*)::int AS n FROM ${db.schema}.policy`))[0]?.n, 2);
  await exportToPostgres(duck, 'two', client, { ...opts, writePolicy: 'append' });
  assert.equal((await rows(`SELECT count(*)::int AS n FROM ${db.schema}.policy`))[0]?.n, 4);
  await assert.rejects(exportToPostgres(duck, 'two', client, { ...opts, writePolicy: 'fail' }), /already exists \(write_policy: fail\)/);
  assert.equal((await rows(`SELECT count(*)::int AS n FROM ${db.schema}.policy`))[0]?.n, 4);
});

test('upsert on key columns updates matching rows and adds the rest', async () => {
  await duck.run("CREATE TABLE v1 AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, name)");
  await duck.run("CREATE TABLE v2 AS SELECT * FROM (VALUES (2, 'B'), (3, 'c')) t(id, name)");
  const opts = { schema: db.schema, table: 'people', uniqueConstraints: ['id'] } as const;
  await exportToPostgres(duck, 'v1', client, { ...opts, writePolicy: 'replace' });
  await exportToPostgres(duck, 'v2', client, { ...opts, writePolicy: 'append' });
  const got = await rows(`SELECT id, name FROM ${db.schema}.people ORDER BY id`);
  assert.deepEqual(got, [
    { id: 1, name: 'a' },
    { id: 2, name: 'B' },
    { id: 3, name: 'c' },
  ]);
  await assert.rejects(exportToPostgres(duck, 'v2', client, { ...opts, uniqueConstraints: ['nope'], writePolicy: 'append' }), /unique constraint column "nope" is not in the output/);
});

test('a COPY that fails half-way leaves the old table untouched and no staging table behind', async () => {
  await duck.run('CREATE TABLE good AS SELECT range AS id FROM range(5)');
  await exportToPostgres(duck, 'good', client, { schema: db.schema, table: 'precious', writePolicy: 'replace' });
  // DuckDB raises at row 150,000, after Postgres has already received rows through the pipe.
  const failing = "(SELECT CASE WHEN range < 150000 THEN range ELSE error('disk on fire') END AS id FROM range(300000))";
  await assert.rejects(exportToPostgres(duck, failing, client, { schema: db.schema, table: 'precious', writePolicy: 'replace' }), /disk on fire/);
  assert.equal((await rows(`SELECT count(*)::int AS n FROM ${db.schema}.precious`))[0]?.n, 5);
  const tables = await rows(`SELECT tablename FROM pg_tables WHERE schemaname = '${db.schema}' AND tablename LIKE 'precious%'`);
  assert.deepEqual(tables.map((t) => t.tablename), ['precious']);
  await assert.rejects(exportToPostgres(duck, failing, client, { schema: db.schema, table: 'precious', writePolicy: 'append' }), /disk on fire/);
  assert.equal((await rows(`SELECT count(*)::int AS n FROM ${db.schema}.precious`))[0]?.n, 5);
});

test('profiles: env_var() is interpolated; a missing variable or profile is named', () => {
  const text = "default:\n  POSTGRES_HOST: \"{{ env_var('PGH') }}\"\n  POSTGRES_PORT: 6000\n  POSTGRES_PASSWORD: \"{{ env_var('PGPW', 'fallback') }}\"\n";
  const profiles = parseIoConfig(text, { PGH: 'db.local' });
  assert.deepEqual(
    { host: requirePostgres(profiles, 'default').host, port: requirePostgres(profiles, 'default').port, password: requirePostgres(profiles, 'default').password },
    { host: 'db.local', port: 6000, password: 'fallback' },
  );
  assert.throws(() => parseIoConfig(text, {}), /environment variable PGH is not set/);
  assert.throws(() => requirePostgres(profiles, 'prod'), /profile "prod" is not in io_config.yaml \(profiles: default\)/);
  assert.throws(() => parseIoConfig('default:\n  POSTGRES_HOST: x\n  POSTGRES_PORT: abc\n', {}), /POSTGRES_PORT must be a port number/);
});

test('an unreachable host fails within the connect timeout, naming the host and not the password', async () => {
  // A loopback port that accepts TCP but never speaks: the worst case, a silent server.
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  const started = Date.now();
  try {
    await assert.rejects(
      connectPostgres({ host: '127.0.0.1', port, database: 'x', user: 'u', password: 's3cret-pw', schema: 'public', connectTimeoutMs: 1500, ssl: 'disable' }, 'default'),
      (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.match(e.message, new RegExp(`cannot connect to Postgres at 127.0.0.1:${port}/x as u \\(profile default\\)`));
        assert.doesNotMatch(e.message, /s3cret-pw/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  } finally {
    silent.close();
  }
});
