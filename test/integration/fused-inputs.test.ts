/**
 * inlineFusedInputs against DuckDB's real parser: a fused upstream's query goes where the reader's
 * SQL reads it once; mentions in comments and strings get the table's name; read twice (or not
 * at all outside comments), the upstream is made a table first and every mention names it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { inlineFusedInputs } from '../../lib/kernel/fused-inputs';

let duck: DuckDBConnection;
before(async () => {
  duck = await (await DuckDBInstance.create(':memory:')).connect();
});
after(() => duck.closeSync());

const M = '__grimoire_fused_0_ab12';
const SUB = '(\nSELECT 1 AS n -- one\n)';

async function inline(sql: string): Promise<{ sql: string; materialized: number }> {
  let materialized = 0;
  const out = await inlineFusedInputs(duck, sql, [{ marker: M, subquery: SUB, table: '"up"', materialize: async () => void (materialized += 1) }]);
  return { sql: out, materialized };
}

test('read once: the query takes its place, and the text runs', async () => {
  const r = await inline(`SELECT n + 1 AS m FROM ${M}`);
  assert.equal(r.sql, `SELECT n + 1 AS m FROM ${SUB}`);
  assert.equal(r.materialized, 0);
  assert.deepEqual((await duck.runAndReadAll(r.sql)).getRowObjectsJS(), [{ m: 2 }]);
});

test('a mention in a line comment, a block comment or a string is not a read: it gets the name, the live one the query', async () => {
  const r = await inline(`-- reads ${M}\n/* and ${M} */ SELECT '${M}' AS label, n FROM ${M}`);
  assert.equal(r.sql, `-- reads "up"\n/* and "up" */ SELECT '"up"' AS label, n FROM ${SUB}`);
  assert.equal(r.materialized, 0);
  assert.deepEqual((await duck.runAndReadAll(r.sql)).getRowObjectsJS(), [{ label: '"up"', n: 1 }]);
});

test('read twice, in one statement or two: the upstream becomes a table first, and both name it', async () => {
  const twice = await inline(`SELECT (SELECT count(*) FROM ${M}) AS a, (SELECT sum(n) FROM ${M}) AS b`);
  assert.equal(twice.materialized, 1);
  assert.equal(twice.sql, 'SELECT (SELECT count(*) FROM "up") AS a, (SELECT sum(n) FROM "up") AS b');
  const statements = await inline(`CREATE TEMP TABLE t AS SELECT * FROM ${M};\nSELECT * FROM ${M}`);
  assert.equal(statements.materialized, 1);
  assert.equal(statements.sql, 'CREATE TEMP TABLE t AS SELECT * FROM "up";\nSELECT * FROM "up"');
});

test('never read outside comments: made a table too (nothing would run it), the comment names it', async () => {
  const r = await inline(`-- not ${M}\nSELECT 2 AS x`);
  assert.equal(r.materialized, 1);
  assert.equal(r.sql, '-- not "up"\nSELECT 2 AS x');
});
