import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renameReferences } from '../../lib/pipeline/rename-references';

test('SQL references to a renamed upstream follow it', () => {
  const sql = 'SELECT * FROM {{ load }} JOIN load USING (id) -- load is loaded\nWHERE name = \'load\'';
  assert.equal(renameReferences(sql, 'sql', 'load', 'load_trips'), "SELECT * FROM {{ load_trips }} JOIN load_trips USING (id) -- load is loaded\nWHERE name = 'load'");
});

test('TypeScript: the function name, the argument and its uses follow; strings and properties stay', () => {
  const ts = "export default async function clean(load: DataFrame, ctx: BlockContext) {\n  ctx.log(`${load.rowCount} from load`);\n  return ctx.sql`SELECT * FROM ${load}`;\n}\nconst x = { load: 1 }.load;";
  const out = renameReferences(ts, 'typescript', 'load', 'trips');
  assert.match(out, /function clean\(trips: DataFrame/);
  assert.match(out, /\$\{trips\.rowCount\} from load/);
  assert.match(out, /FROM \$\{trips\}/);
  assert.match(out, /\.load;$/);
  assert.equal(renameReferences('export default function load() {}', 'typescript', 'load', 'fetch_trips'), 'export default function fetch_trips() {}');
});

test("TypeScript: an argument typed by its upstream's rows, DataFrame<'load'>, follows the rename", () => {
  const ts = "export default async function clean(load: DataFrame<'load'>, ctx: BlockContext) {\n  const rows = await load.rows();\n  return rows.filter((r) => r.n !== null);\n}\n";
  const out = renameReferences(ts, 'typescript', 'load', 'trips');
  assert.match(out, /function clean\(trips: DataFrame<'trips'>, ctx/);
  assert.match(out, /await trips\.rows\(\)/);
});
