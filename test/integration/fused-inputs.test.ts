/**
 * placeFusedInputs against DuckDB's real parser: every mention of a fused upstream names its
 * output (as without fusing), and the upstream is made a table first unless the reader's SQL is
 * one statement reading it exactly once, by the template: mentions in comments and strings read
 * nothing; two reads, a script (temp views over it), a bare mention of its name, or none at all
 * make it a table.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { placeFusedInputs } from '../../lib/kernel/fused-inputs';

let duck: DuckDBConnection;
before(async () => {
  duck = await (await DuckDBInstance.create(':memory:')).connect();
});
after(() => duck.closeSync());

const M = '__grimoire_fused_0_ab12';

async function place(sql: string): Promise<{ sql: string; materialized: boolean }> {
  let materialized = false;
  const out = await placeFusedInputs(duck, sql, [{ marker: M, name: 'up', table: '"up"', materialize: async () => void (materialized = true) }]);
  return { sql: out, materialized };
}

test('read once: it stays a view, named', async () => {
  assert.deepEqual(await place(`SELECT n + 1 AS m FROM ${M}`), { sql: 'SELECT n + 1 AS m FROM "up"', materialized: false });
  assert.deepEqual(await place(`TABLE ${M}`), { sql: 'TABLE "up"', materialized: false });
});

test('mentions in a line comment, a block comment or a string read nothing', async () => {
  const r = await place(`-- reads ${M}\n/* and ${M} */ SELECT '${M}' AS label, n FROM ${M}`);
  assert.deepEqual(r, { sql: `-- reads "up"\n/* and "up" */ SELECT '"up"' AS label, n FROM "up"`, materialized: false });
});

test('read twice, by a script, by its bare name, written to, or never: made a table first', async () => {
  assert.equal((await place(`SELECT (SELECT count(*) FROM ${M}) AS a, (SELECT sum(n) FROM ${M}) AS b`)).materialized, true);
  assert.equal((await place(`CREATE TEMP VIEW picked AS SELECT * FROM ${M};\nSELECT * FROM picked`)).materialized, true);
  assert.equal((await place(`SELECT up.n FROM ${M} WHERE up.n > 5`)).materialized, true);
  assert.equal((await place(`-- not ${M}\nSELECT 2 AS x`)).materialized, true);
  // Written to: a view takes no rows.
  assert.equal((await place(`INSERT INTO ${M} VALUES (3)`)).materialized, true);
});
