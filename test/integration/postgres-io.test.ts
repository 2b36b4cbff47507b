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
      'ts:timestamp without time zone', 'tstz:timestamp with time zone', 'bin:bytea', 'list:ARRAY', 'obj:jsonb', 'id:uuid',
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
  // Exports pace their writeback only while they run: the connection is given back as it was.
  assert.equal((await client.query<{ backend_flush_after: string }>('SHOW backend_flush_after')).rows[0]?.backend_flush_after, '0');
});

test('replace under a dependent view keeps the view valid; changed columns or a foreign key are refused naming what depends', async () => {
  const opts = { schema: db.schema, table: 'daily_sales', writePolicy: 'replace' } as const;
  await duck.run('CREATE TABLE sales_a AS SELECT range::INTEGER AS day, (range * 10)::DOUBLE AS amount FROM range(3)');
  await exportToPostgres(duck, 'sales_a', client, opts);
  await client.query(`CREATE VIEW ${db.schema}.sales_total AS SELECT sum(amount) AS total FROM ${db.schema}.daily_sales`);
  await duck.run('CREATE TABLE sales_b AS SELECT range::INTEGER AS day, (range * 100)::DOUBLE AS amount FROM range(4)');
  assert.deepEqual(await exportToPostgres(duck, 'sales_b', client, { ...opts, sourceRows: 4 }), { rows: 4, format: 'binary' });
  assert.deepEqual(await rows(`SELECT total::int AS total FROM ${db.schema}.sales_total`), [{ total: 600 }]);
  // Columns that change under the view: refused, naming the view and both column lists; nothing changed.
  await duck.run('CREATE TABLE sales_c AS SELECT range::INTEGER AS day, range::VARCHAR AS note FROM range(2)');
  await assert.rejects(
    exportToPostgres(duck, 'sales_c', client, opts),
    new RegExp(`cannot replace ${db.schema}.daily_sales: ${db.schema}.sales_total depends on it and its columns would change \\(now day integer, amount double precision; the output has day integer, note text\\)`),
  );
  assert.deepEqual(await rows(`SELECT total::int AS total FROM ${db.schema}.sales_total`), [{ total: 600 }]);
  // A materialized view is refreshed in the same transaction; a SQL function reading the table keeps working.
  await client.query(`CREATE MATERIALIZED VIEW ${db.schema}.sales_snapshot AS SELECT sum(amount) AS total FROM ${db.schema}.daily_sales;
    CREATE FUNCTION ${db.schema}.sales_sum() RETURNS double precision LANGUAGE sql BEGIN ATOMIC SELECT sum(amount) FROM ${db.schema}.daily_sales; END`);
  await duck.run('CREATE TABLE sales_d AS SELECT range::INTEGER AS day, 1.0::DOUBLE AS amount FROM range(5)');
  await exportToPostgres(duck, 'sales_d', client, opts);
  assert.deepEqual(await rows(`SELECT (SELECT total::int FROM ${db.schema}.sales_snapshot) AS snap, ${db.schema}.sales_sum()::int AS fn`), [{ snap: 5, fn: 5 }]);
  // A wider numeric than the column holds is refused; one the column takes is loaded.
  await duck.run('CREATE TABLE money_a AS SELECT 1::INTEGER AS id, 12.5::DECIMAL(38,2) AS amount');
  await exportToPostgres(duck, 'money_a', client, { schema: db.schema, table: 'money', writePolicy: 'replace' });
  await client.query(`CREATE VIEW ${db.schema}.money_total AS SELECT sum(amount) AS total FROM ${db.schema}.money`);
  await duck.run('CREATE TABLE money_b AS SELECT 1::INTEGER AS id, 7.25::DECIMAL(10,1) AS amount');
  await exportToPostgres(duck, 'money_b', client, { schema: db.schema, table: 'money', writePolicy: 'replace' });
  assert.deepEqual(await rows(`SELECT total::text AS total FROM ${db.schema}.money_total`), [{ total: '7.30' }]);
  await duck.run('CREATE TABLE money_c AS SELECT 1::INTEGER AS id, 7.255::DECIMAL(38,3) AS amount');
  await assert.rejects(exportToPostgres(duck, 'money_c', client, { schema: db.schema, table: 'money', writePolicy: 'replace' }), /columns would change \(now id integer, amount numeric\(38,2\); the output has id integer, amount numeric\(38,3\)\)/);
  // A foreign key of another table: refused by name, the rows stay.
  await client.query(`CREATE TABLE ${db.schema}.codes (code int PRIMARY KEY); CREATE TABLE ${db.schema}.uses (code int REFERENCES ${db.schema}.codes (code))`);
  await duck.run('CREATE TABLE codes AS SELECT 1::INTEGER AS code');
  await assert.rejects(exportToPostgres(duck, 'codes', client, { schema: db.schema, table: 'codes', writePolicy: 'replace' }), new RegExp(`${db.schema}.uses \\(foreign key uses_code_fkey\\) refers to it`));
});

test('every type Postgres users commonly hold goes Postgres -> DuckDB -> Postgres with its type and value', async () => {
  await client.query(`CREATE TABLE ${db.schema}.all_types (
    i2 smallint, i4 integer, i8 bigint, n_exact numeric(12,3), n_free numeric, r real, d double precision, t text, v varchar(20),
    b boolean, dt date, tm time, ts timestamp, tz timestamptz, iv interval, u uuid, j json, jb jsonb, by bytea,
    arr_t text[], arr_i integer[]);
    INSERT INTO ${db.schema}.all_types VALUES
      (-32768, 2147483647, 9007199254740993, 123456789.123, 12345678901234567.891, 1.5, 2.25, 'a "quoted", text', 'short',
       true, '2020-10-01', '12:34:56.789', '2024-01-01 05:06:07.123456', '2024-03-10 12:00:00+00', '3 days 04:05:06', 'fe0d1e8a-f2ce-43eb-be80-e40b7867dd8f',
       '{"a":[1,2]}', '[["08:00","10:00"],["15:00","20:00"]]', '\\xab00ff', ARRAY['a','b,"c"',NULL], ARRAY[1,2]),
      (${'NULL, '.repeat(20)}NULL)`);
  await loadPostgresQuery(client, `SELECT * FROM ${db.schema}.all_types`, duck, 'all_types', false);
  const described = await duck.runAndReadAll('SELECT * FROM all_types LIMIT 0');
  assert.deepEqual(
    described.columnTypes().map((t) => (t.alias === 'JSON' ? 'JSON' : t.toString())),
    ['SMALLINT', 'INTEGER', 'BIGINT', 'DECIMAL(12,3)', 'DECIMAL(38,3)', 'FLOAT', 'DOUBLE', 'VARCHAR', 'VARCHAR', 'BOOLEAN', 'DATE', 'TIME', 'TIMESTAMP',
      'TIMESTAMP WITH TIME ZONE', 'INTERVAL', 'UUID', 'JSON', 'JSON', 'BLOB', 'VARCHAR[]', 'INTEGER[]'],
  );
  await exportToPostgres(duck, 'all_types', client, { schema: db.schema, table: 'all_types_back', writePolicy: 'replace' });
  const types = await rows(`SELECT string_agg(format_type(atttypid, atttypmod), ', ' ORDER BY attnum) AS t FROM pg_attribute WHERE attrelid = '${db.schema}.all_types_back'::regclass AND attnum > 0`);
  assert.equal(types[0]?.t, 'smallint, integer, bigint, numeric(12,3), numeric(38,3), real, double precision, text, text, boolean, date, time without time zone, timestamp without time zone, timestamp with time zone, interval, uuid, jsonb, jsonb, bytea, text[], integer[]');
  // Value for value, compared in Postgres (json compared as jsonb: key order and spacing aside).
  const diff = await rows(`SELECT count(*)::int AS n FROM (
    SELECT i2, i4, i8, n_exact, n_free, r, d, t, v::text, b, dt, tm, ts, tz, iv, u, j::jsonb, jb, by, arr_t, arr_i FROM ${db.schema}.all_types
    EXCEPT SELECT * FROM ${db.schema}.all_types_back) x`);
  assert.equal(diff[0]?.n, 0);
  const ops = await rows(`SELECT jb->1->>0 AS opens, arr_t[2] AS second, arr_i[2] + 1 AS three FROM ${db.schema}.all_types_back WHERE i4 IS NOT NULL`);
  assert.deepEqual(ops, [{ opens: '15:00', second: 'b,"c"', three: 3 }]);
});

test('numerics DuckDB cannot hold as such, and arrays of numerics, stay exact', async () => {
  await loadPostgresQuery(
    client,
    `SELECT 12345678901234567890.12345678901234567890::numeric(50,20) AS wide, 12345::numeric(5,-2) AS hundreds, ARRAY[9007199254740993.01, 0.5]::numeric(20,2)[] AS amounts, ARRAY[9007199254740993.011, 1] AS free`,
    duck,
    'wide_numbers',
    false,
  );
  const r = await duck.runAndReadAll('SELECT wide::VARCHAR AS wide, hundreds::VARCHAR AS hundreds, amounts::VARCHAR AS amounts, free::VARCHAR AS free FROM wide_numbers');
  assert.deepEqual(r.getRowObjectsJson(), [{ wide: '12345678901234567890.12345678901234567890', hundreds: '12300', amounts: '[9007199254740993.01, 0.50]', free: '[9007199254740993.011, 1.000]' }]);
  const types = (await duck.runAndReadAll('SELECT * FROM wide_numbers LIMIT 0')).columnTypes().map(String);
  assert.deepEqual(types, ['VARCHAR', 'DECIMAL(38,0)', 'DECIMAL(20,2)[]', 'DECIMAL(38,3)[]']);
});

test('a Postgres query with two columns of one name is refused naming it', async () => {
  await assert.rejects(loadPostgresQuery(client, 'SELECT 1 AS a, 2 AS a, 3 AS b', duck, 'twice', false), /more than one column named "a": give each its own name \(AS \.\.\.\)/);
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

async function count(table: string): Promise<number> {
  const [row] = await rows(`SELECT count(*)::int AS n FROM ${db.schema}.${table}`);
  return typeof row?.n === 'number' ? row.n : NaN;
}

test('a stored table goes as binary COPY and lands exactly what CSV lands: every type, NULLs, infinities, many chunks', async () => {
  await duck.run("CREATE TYPE mood AS ENUM ('calm', 'busy')");
  await duck.run(`CREATE TABLE wide AS
    SELECT range::BIGINT AS big, (range % 1000)::INTEGER AS int, (range % 100)::SMALLINT AS small, (range % 100)::TINYINT AS tiny,
      (range % 200)::UTINYINT AS utiny, (range % 60000)::USMALLINT AS usmall, (range * 1000)::UINTEGER AS uint,
      (range / 3.0)::FLOAT AS flt, CASE WHEN range % 11 = 0 THEN NULL ELSE range / 7.0 END AS dbl,
      CASE range % 4 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'short ' || range ELSE 'longer than twelve bytes, ünïcödé № ' || range END AS txt,
      ('{"n": ' || range || '}')::JSON AS doc, range % 2 = 0 AS flag,
      DATE '1960-02-29' + (range * 13)::INTEGER AS day,
      TIMESTAMP '1969-12-31 23:59:59.999999' + INTERVAL (range * 7777777) MICROSECOND AS ts,
      TIMESTAMPTZ '2020-10-01 05:00:00+00' + INTERVAL (range) MINUTE AS tstz,
      (TIMESTAMP '2001-01-01' + INTERVAL (range) SECOND)::TIMESTAMP_S AS ts_s,
      (TIMESTAMP '2001-01-01 00:00:00.123' + INTERVAL (range) SECOND)::TIMESTAMP_MS AS ts_ms,
      (CASE WHEN range % 3 = 0 THEN 'calm' ELSE 'busy' END)::mood AS mood
    FROM range(5000)
    UNION ALL
    SELECT -1, NULL, NULL, NULL, NULL, NULL, NULL, 'inf'::FLOAT, 'NaN'::DOUBLE, 'x', NULL, NULL, DATE 'infinity', TIMESTAMP 'infinity', TIMESTAMPTZ '-infinity', NULL, NULL, NULL
    UNION ALL
    SELECT -2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-inf'::DOUBLE, NULL, NULL, NULL, DATE '-infinity', TIMESTAMP '-infinity', NULL, NULL, NULL, NULL`);
  const counted: number[] = [];
  const binary = await exportToPostgres(duck, 'wide', client, { schema: db.schema, table: 'wide_bin', writePolicy: 'replace', sourceRows: 5002, onRows: (n) => counted.push(n) });
  assert.deepEqual(binary, { rows: 5002, format: 'binary' });
  assert.equal(counted.at(-1), 5002);
  assert.ok(counted.length >= 3, 'progress is reported per chunk');
  const csv = await exportToPostgres(duck, 'wide', client, { schema: db.schema, table: 'wide_csv', writePolicy: 'replace' });
  assert.deepEqual(csv, { rows: 5002, format: 'csv' });

  const columnsOf = async (table: string) => (await rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${db.schema}' AND table_name = '${table}' ORDER BY ordinal_position`)).map((r) => `${r.column_name}:${r.data_type}`);
  assert.deepEqual(await columnsOf('wide_bin'), await columnsOf('wide_csv'));
  for (const [a, b] of [['wide_bin', 'wide_csv'], ['wide_csv', 'wide_bin']]) {
    assert.equal((await rows(`SELECT count(*)::int AS n FROM (SELECT * FROM ${db.schema}.${a} EXCEPT ALL SELECT * FROM ${db.schema}.${b}) d`))[0]?.n, 0, `${a} has no rows ${b} lacks`);
  }
  const special = await rows(`SELECT big, day::text, ts::text, tstz::text, flt::text, dbl::text FROM ${db.schema}.wide_bin WHERE big < 0 ORDER BY big DESC`);
  assert.deepEqual(special, [
    { big: '-1', day: 'infinity', ts: 'infinity', tstz: '-infinity', flt: 'Infinity', dbl: 'NaN' },
    { big: '-2', day: '-infinity', ts: '-infinity', tstz: null, flt: null, dbl: '-Infinity' },
  ]);
  const first = await rows(`SELECT day::text, ts::text, tstz AT TIME ZONE 'UTC' AS utc, txt, doc::text, mood FROM ${db.schema}.wide_bin WHERE big IN (0, 3) ORDER BY big`);
  assert.equal(first[0]?.day, '1960-02-29');
  assert.equal(first[0]?.ts, '1969-12-31 23:59:59.999999');
  assert.equal(first[0]?.txt, null);
  assert.equal(first[1]?.txt, 'longer than twelve bytes, ünïcödé № 3');
  assert.equal(first[1]?.doc, '{"n": 3}');
  assert.equal(first[1]?.mood, 'calm');
});

test('a binary stream that ends short of the table is caught by the row count: nothing lands, the old table survives', async () => {
  await duck.run('CREATE TABLE five AS SELECT range AS id FROM range(5)');
  await exportToPostgres(duck, 'five', client, { schema: db.schema, table: 'kept', writePolicy: 'replace', sourceRows: 5 });
  // DuckDB's stream ends at the error as if the rows ran out; only the count shows it.
  const failing = "(SELECT CASE WHEN range < 150000 THEN range ELSE error('disk on fire') END AS id FROM range(300000))";
  for (const writePolicy of ['replace', 'append'] as const) {
    await assert.rejects(exportToPostgres(duck, failing, client, { schema: db.schema, table: 'kept', writePolicy, sourceRows: 300000 }), /DuckDB stopped reading .* after \d+ of its 300000 rows; nothing was written/);
    assert.equal(await count('kept'), 5);
  }
  const tables = await rows(`SELECT tablename FROM pg_tables WHERE schemaname = '${db.schema}' AND tablename LIKE 'kept%'`);
  assert.deepEqual(tables.map((t) => t.tablename), ['kept']);
});

test('a row Postgres refuses fails the export with its message, in either format, and the old table survives', async () => {
  // Enough rows behind the bad one that the stream is full and waiting when Postgres says no.
  await duck.run(`CREATE TABLE refused AS SELECT CASE WHEN range = 0 THEN DATE '-10000-01-01' ELSE DATE '2020-01-01' END AS day, 'padding to fill the stream ' || range AS note FROM range(300000)`);
  await duck.run(`CREATE TABLE fine AS SELECT DATE '2020-01-01' AS day, 'kept' AS note`);
  await exportToPostgres(duck, 'fine', client, { schema: db.schema, table: 'refusing', writePolicy: 'replace', sourceRows: 1 });
  for (const sourceRows of [300000, undefined]) {
    await assert.rejects(exportToPostgres(duck, 'refused', client, { schema: db.schema, table: 'refusing', writePolicy: 'replace', sourceRows }), /date out of range/);
    assert.deepEqual(await rows(`SELECT note FROM ${db.schema}.refusing`), [{ note: 'kept' }]);
  }
});

test('append and upsert send binary only into columns of the very types sent; other tables get CSV and still load', async () => {
  await duck.run("CREATE TABLE pair AS SELECT * FROM (VALUES (1::BIGINT, 'a'), (2, 'b')) t(id, name)");
  await client.query(`CREATE TABLE ${db.schema}.narrow (id integer, name varchar(10), extra text DEFAULT 'kept')`);
  const narrow = { schema: db.schema, table: 'narrow', sourceRows: 2 } as const;
  assert.deepEqual(await exportToPostgres(duck, 'pair', client, { ...narrow, writePolicy: 'append' }), { rows: 2, format: 'csv' });
  assert.deepEqual(await exportToPostgres(duck, 'pair', client, { ...narrow, writePolicy: 'append', uniqueConstraints: ['id'] }), { rows: 2, format: 'csv' });
  assert.deepEqual(await rows(`SELECT id, name, extra FROM ${db.schema}.narrow ORDER BY id`), [
    { id: 1, name: 'a', extra: 'kept' },
    { id: 2, name: 'b', extra: 'kept' },
  ]);
  const same = { schema: db.schema, table: 'same', sourceRows: 2 } as const;
  await exportToPostgres(duck, 'pair', client, { ...same, writePolicy: 'replace' });
  assert.deepEqual(await exportToPostgres(duck, 'pair', client, { ...same, writePolicy: 'append' }), { rows: 2, format: 'binary' });
  assert.equal(await count('same'), 4);
  await duck.run("CREATE TABLE pair2 AS SELECT * FROM (VALUES (2::BIGINT, 'B'), (3, 'c')) t(id, name)");
  await exportToPostgres(duck, 'pair', client, { ...same, writePolicy: 'replace' });
  assert.deepEqual(await exportToPostgres(duck, 'pair2', client, { ...same, writePolicy: 'append', uniqueConstraints: ['id'] }), { rows: 2, format: 'binary' });
  assert.deepEqual(await rows(`SELECT id::int, name FROM ${db.schema}.same ORDER BY id`), [
    { id: 1, name: 'a' },
    { id: 2, name: 'B' },
    { id: 3, name: 'c' },
  ]);
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

test("a load reads what the server prints whatever the session's output settings, keeps values DuckDB cannot type as text, and takes a trailing comment", async () => {
  // As an ALTER ROLE ... SET would leave them: the load pins its own.
  await client.query("SET datestyle = 'SQL, DMY'; SET intervalstyle = 'iso_8601'; SET extra_float_digits = -3");
  const { textColumns } = await loadPostgresQuery(
    client,
    `SELECT DATE '2020-10-02' AS d, '0044-03-15 BC'::date AS bc, '-1 days +02:00:00'::interval AS neg, '1 mon -2 days 00:00:01.5'::interval AS mixed,
            0.1::float8 + 0.2::float8 AS f, '12:34:56.789+05:30'::timetz AS tt, 'NaN'::numeric(12,4) AS nan_fixed, 1.5::numeric(12,4) AS fixed
     -- the day's numbers
     ;  -- done
    `,
    duck,
    'settings_load',
    false,
  );
  assert.deepEqual(textColumns, ['nan_fixed']);
  const r = await duck.runAndReadAll(
    'SELECT d::VARCHAR AS d, bc::VARCHAR AS bc, neg::VARCHAR AS neg, mixed::VARCHAR AS mixed, f, tt::VARCHAR AS tt, nan_fixed, fixed::VARCHAR AS fixed FROM settings_load',
  );
  assert.deepEqual(r.columnTypes().map(String), ['VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'DOUBLE', 'VARCHAR', 'VARCHAR', 'VARCHAR']);
  assert.deepEqual(r.getRowObjectsJS(), [
    { d: '2020-10-02', bc: '0044-03-15 (BC)', neg: '-1 day 02:00:00', mixed: '1 month -2 days 00:00:01.5', f: 0.30000000000000004, tt: '12:34:56.789+05:30', nan_fixed: 'NaN', fixed: '1.5000' },
  ]);
  const types = await duck.runAndReadAll('SELECT * FROM settings_load LIMIT 0');
  assert.deepEqual(types.columnTypes().map(String), ['DATE', 'DATE', 'INTERVAL', 'INTERVAL', 'DOUBLE', 'TIME WITH TIME ZONE', 'VARCHAR', 'DECIMAL(12,4)']);
  await client.query('RESET datestyle; RESET intervalstyle; RESET extra_float_digits');
  // Back to Postgres: the time zone offset of a timetz stays.
  await exportToPostgres(duck, '(SELECT tt FROM settings_load)', client, { schema: db.schema, table: 'timetz_back', writePolicy: 'replace' });
  assert.deepEqual(await rows(`SELECT tt::text AS tt, pg_typeof(tt)::text AS type FROM ${db.schema}.timetz_back`), [{ tt: '12:34:56.789+05:30', type: 'time with time zone' }]);
});

test('replace under a function taking the table row type, and under a partitioned table with a view, keeps both', async () => {
  const s = db.schema;
  await duck.run('CREATE TABLE rep_a AS SELECT DATE \'2024-01-01\' AS day, 1::INTEGER AS n');
  await exportToPostgres(duck, 'rep_a', client, { schema: s, table: 'rep_t', writePolicy: 'replace' });
  await client.query(`CREATE FUNCTION ${s}.rep_fmt(r ${s}.rep_t) RETURNS text LANGUAGE sql AS 'SELECT r.day::text'; CREATE TABLE ${s}.rep_hist (snap ${s}.rep_t)`);
  await duck.run('CREATE TABLE rep_b AS SELECT DATE \'2024-01-02\' AS day, 2::INTEGER AS n');
  await exportToPostgres(duck, 'rep_b', client, { schema: s, table: 'rep_t', writePolicy: 'replace' });
  assert.deepEqual(await rows(`SELECT ${s}.rep_fmt(t) AS f FROM ${s}.rep_t t`), [{ f: '2024-01-02' }]);
  await duck.run("CREATE TABLE rep_c AS SELECT 'x' AS other");
  await assert.rejects(exportToPostgres(duck, 'rep_c', client, { schema: s, table: 'rep_t', writePolicy: 'replace' }), new RegExp(`function ${s}\\.rep_fmt\\(${s}\\.rep_t\\)`));
  await client.query(`CREATE TABLE ${s}.parted (day date, n int) PARTITION BY RANGE (day);
    CREATE TABLE ${s}.parted_2024 PARTITION OF ${s}.parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE VIEW ${s}.parted_v AS SELECT * FROM ${s}.parted`);
  await exportToPostgres(duck, 'rep_b', client, { schema: s, table: 'parted', writePolicy: 'replace' });
  assert.deepEqual(await rows(`SELECT day::text AS day, n FROM ${s}.parted_v`), [{ day: '2024-01-02', n: 2 }]);
});

test('arrays of jsonb stay JSON objects, arrays of unconstrained numerics become exact DECIMAL lists, timestamptz arrays keep the instant', async () => {
  const { textColumns } = await loadPostgresQuery(
    client,
    `SELECT ARRAY['{"a":1}'::jsonb, '[2]'::jsonb] AS ja, '{1.5,2.25,NULL}'::numeric[] AS na, ARRAY['2024-01-01 00:00+02'::timestamptz] AS tsa`,
    duck,
    'arrays_load',
    false,
  );
  assert.deepEqual(textColumns, []);
  const types = await duck.runAndReadAll('SELECT * FROM arrays_load LIMIT 0');
  assert.deepEqual(types.columnTypes().map((t) => (t.alias === 'JSON' ? 'JSON' : t.toString())), ['JSON', 'DECIMAL(38,2)[]', 'TIMESTAMP WITH TIME ZONE[]']);
  await exportToPostgres(duck, 'arrays_load', client, { schema: db.schema, table: 'arrays_back', writePolicy: 'replace' });
  assert.deepEqual(await rows(`SELECT ja->0->>'a' AS a, pg_typeof(na)::text AS na_type, na::text AS na, tsa[1] = '2024-01-01 00:00+02'::timestamptz AS same FROM ${db.schema}.arrays_back`), [
    { a: '1', na_type: 'numeric[]', na: '{1.50,2.25,NULL}', same: true },
  ]);
});
