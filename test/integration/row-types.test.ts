/**
 * Issue #13, kind 1: a value's type survives a TypeScript block. rows() hands each DuckDB type out
 * as a JS value; rows the block returns with the same column keep the upstream's type exactly when
 * the values still fit it, and are inferred from the values when the block changed them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { createTableFromRows, rowValueConverter } from '../../lib/kernel/duck-values';

/** A fresh in-memory DuckDB connection per test. */
async function connect() {
  return (await DuckDBInstance.create(':memory:')).connect();
}

const SOURCE = `SELECT 7::TINYINT AS ti, 1::SMALLINT AS si, 2147483647::INTEGER AS i, 9007199254740993::BIGINT AS bi, 123::HUGEINT AS hi,
  1.5::FLOAT AS f, 2.25::DOUBLE AS d, 12.345::DECIMAL(13,3) AS dec_small, 9007199254740993.03::DECIMAL(18,2) AS dec_big,
  true AS b, 'x' AS s, DATE '2020-10-01' AS dt, TIME '12:34:56.789' AS tm, TIMESTAMP '2024-01-01 05:06:07.123' AS ts,
  TIMESTAMPTZ '2024-03-10 12:00:00+00' AS tz, INTERVAL 3 DAY + INTERVAL 5 SECOND AS iv, '\\xAB\\x00'::BLOB AS bl,
  'fe0d1e8a-f2ce-43eb-be80-e40b7867dd8f'::UUID AS u, ['a', NULL, 'c'] AS l, [1, 2]::INTEGER[] AS il, {'k': 1, 'v': 'w'} AS st`;

test('every common type comes back exactly when a block returns the rows it was given', async () => {
  const c = await connect();
  await c.run(`CREATE TABLE src AS ${SOURCE} UNION ALL SELECT ${'NULL, '.repeat(20)}NULL`);
  const reader = await c.runAndReadAll('SELECT * FROM src');
  const rows = reader.convertRowObjects(rowValueConverter);
  assert.equal(rows[0]?.dec_big, '9007199254740993.03', 'a DECIMAL of more than 15 digits is exact text in rows()');
  assert.equal(rows[0]?.dec_small, 12.345);
  const types = reader.columnTypes().map((t) => t.toString());
  const hints = new Map(reader.columnNames().map((n, i): [string, string] => [n, types[i] ?? 'VARCHAR']));
  await createTableFromRows(c, 'back', rows.map((r) => ({ ...r })), false, hints);
  const back = await c.runAndReadAll('SELECT * FROM back');
  assert.deepEqual(back.columnTypes().map((t) => t.toString()), types);
  assert.deepEqual(back.getRowsJson(), reader.getRowsJson());
  c.closeSync();
});

test('timestamps keep their microseconds through rows() unless the block moves them', async () => {
  const c = await connect();
  await c.run(`CREATE TABLE micro AS SELECT 1 AS id, TIMESTAMP '2024-01-01 05:06:07.123456' AS ts, TIMESTAMPTZ '1969-12-31 23:59:59.999001+00' AS tz
    UNION ALL SELECT 2, TIMESTAMP '2024-01-01 05:06:07.000001', TIMESTAMPTZ '2024-03-10 12:00:00.5+00'`);
  const reader = await c.runAndReadAll('SELECT * FROM micro ORDER BY id');
  const rows = reader.convertRowObjects(rowValueConverter);
  assert.ok(rows[0]?.ts instanceof Date, 'still a Date for the block');
  assert.equal((rows[0]?.ts as Date).toISOString(), '2024-01-01T05:06:07.123Z');
  const hints = new Map([['id', 'INTEGER'], ['ts', 'TIMESTAMP'], ['tz', 'TIMESTAMP WITH TIME ZONE']]);
  const second = rows[1]?.ts;
  // The block moves one timestamp by an hour: that value is the block's, to the millisecond.
  if (second instanceof Date) second.setTime(second.getTime() + 3_600_000);
  await createTableFromRows(c, 'micro_back', rows.map((r) => ({ ...r })), false, hints);
  const back = await c.runAndReadAll(`SELECT id, ts::VARCHAR AS ts, (tz AT TIME ZONE 'UTC')::VARCHAR AS tz FROM micro_back ORDER BY id`);
  assert.deepEqual(back.getRowObjectsJS(), [
    { id: 1, ts: '2024-01-01 05:06:07.123456', tz: '1969-12-31 23:59:59.999001' },
    { id: 2, ts: '2024-01-01 06:06:07', tz: '2024-03-10 12:00:00.5' },
  ]);
  // Nested in a struct and a list, too.
  const nested = await c.runAndReadAll(`SELECT {'at': TIMESTAMP '2024-01-01 10:00:00.123456', 'n': 1} AS s, [TIMESTAMP '2024-01-01 10:00:00.000001'] AS l`);
  const nestedTypes = nested.columnTypes().map((t) => t.toString());
  await createTableFromRows(c, 'nested_back', nested.convertRowObjects(rowValueConverter), false, new Map([['s', nestedTypes[0] ?? ''], ['l', nestedTypes[1] ?? '']]));
  const nestedBack = await c.runAndReadAll('SELECT s::VARCHAR AS s, l::VARCHAR AS l FROM nested_back');
  assert.deepEqual((await c.runAndReadAll('SELECT * FROM nested_back')).columnTypes().map(String), nestedTypes);
  assert.deepEqual(nestedBack.getRowObjectsJS(), [{ s: "{'at': '2024-01-01 10:00:00.123456', 'n': 1}", l: "['2024-01-01 10:00:00.000001']" }]);
  c.closeSync();
});

test("dates and times a JS Date cannot hold come out as DuckDB's text and go back as the same type", async () => {
  const c = await connect();
  await c.run(`CREATE TABLE inf AS SELECT 'infinity'::TIMESTAMP AS valid_to, '-infinity'::TIMESTAMPTZ AS since, 'infinity'::DATE AS d, DATE '5874897-12-31' AS far`);
  const reader = await c.runAndReadAll('SELECT * FROM inf');
  const rows = reader.convertRowObjects(rowValueConverter);
  assert.deepEqual(rows, [{ valid_to: 'infinity', since: '-infinity', d: 'infinity', far: '5874897-12-31' }]);
  const types = reader.columnTypes().map((t) => t.toString());
  const hints = new Map(reader.columnNames().map((n, i): [string, string] => [n, types[i] ?? 'VARCHAR']));
  await createTableFromRows(c, 'inf_back', rows.map((r) => ({ ...r })), false, hints);
  const back = await c.runAndReadAll('SELECT valid_to::VARCHAR AS a, since::VARCHAR AS b, d::VARCHAR AS c, far::VARCHAR AS f FROM inf_back');
  assert.deepEqual((await c.runAndReadAll('SELECT * FROM inf_back')).columnTypes().map(String), types);
  assert.deepEqual(back.getRowObjectsJS(), [{ a: 'infinity', b: '-infinity', c: 'infinity', f: '5874897-12-31' }]);
  c.closeSync();
});

test('the end of a day and a negative zero come back as they were', async () => {
  const c = await connect();
  const reader = await c.runAndReadAll(`SELECT TIME '24:00:00' AS end_of_day, -0.0::DOUBLE AS neg_zero`);
  const types = reader.columnTypes().map((t) => t.toString());
  await createTableFromRows(c, 'edges_back', reader.convertRowObjects(rowValueConverter), false, new Map([['end_of_day', types[0] ?? ''], ['neg_zero', types[1] ?? '']]));
  const back = await c.runAndReadAll('SELECT end_of_day::VARCHAR AS t, neg_zero::VARCHAR AS z FROM edges_back');
  assert.deepEqual((await c.runAndReadAll('SELECT * FROM edges_back')).columnTypes().map(String), types);
  assert.deepEqual(back.getRowObjectsJS(), [{ t: '24:00:00', z: '-0.0' }]);
  c.closeSync();
});

test('a column the block changed is typed by its new values', async () => {
  const c = await connect();
  const hints = new Map([
    ['day', 'DATE'],
    ['n', 'INTEGER'],
    ['amount', 'DECIMAL(5,2)'],
  ]);
  await createTableFromRows(c, 'changed', [{ day: new Date('2020-10-01T05:00:00Z'), n: 2 ** 40, amount: 1.005 }], false, hints);
  const r = await c.runAndReadAll('SELECT * FROM changed');
  assert.deepEqual(r.columnTypes().map((t) => t.toString()), ['TIMESTAMP', 'BIGINT', 'DOUBLE']);
  c.closeSync();
});

test('values at the edges of a type: integral doubles, all-NULL columns, tiny decimals, changed JSON and lists, MAP', async () => {
  const c = await connect();
  const hints = new Map([
    ['d', 'DOUBLE'],
    ['none', 'DATE'],
    ['tiny', 'DECIMAL(10,8)'],
    ['j', 'JSON'],
    ['l', 'INTEGER[]'],
    ['m', 'MAP(VARCHAR, INTEGER)'],
  ]);
  const rows = [
    { d: 2, none: null, tiny: 1e-7, j: 'hello', l: ['a', 'b'], m: [{ key: 'k', value: 1 }] },
    { d: 3, none: null, tiny: 0.5, j: 'world', l: ['c'], m: [] },
  ];
  await createTableFromRows(c, 'edges', rows, false, hints);
  const r = await c.runAndReadAll('SELECT * FROM edges');
  // Integral doubles stay DOUBLE, NULLs keep their DATE, 1e-7 fits DECIMAL(10,8); a JSON column
  // turned into plain words and a list of numbers turned into text are typed by their values.
  assert.deepEqual(r.columnTypes().map(String), ['DOUBLE', 'DATE', 'DECIMAL(10,8)', 'VARCHAR', 'VARCHAR', 'VARCHAR']);
  assert.deepEqual(r.getRowsJson()[0]?.slice(0, 4), [2, null, '0.00000010', 'hello']);
  c.closeSync();
});

