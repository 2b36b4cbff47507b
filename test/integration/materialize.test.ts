import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { QuerySession } from '../../lib/kernel/frames';

let duck: DuckDBConnection;
let dir: string;

before(async () => {
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  dir = await mkdtemp(path.join(os.tmpdir(), 'grimoire-materialize-'));
});

after(async () => {
  duck?.closeSync();
  await rm(dir, { recursive: true, force: true });
});

async function count(table: string): Promise<number> {
  const reader = await duck.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${table}`);
  return Number(reader.getRowObjectsJS()[0]?.n);
}

test('a query becomes the output table; statements before it run first', async () => {
  const session = new QuerySession(duck);
  await session.materialize('CREATE TABLE src AS FROM range(5);\nSELECT range * 2 AS doubled FROM src WHERE range > 1;', 'out_query', false);
  assert.equal(await count('out_query'), 3);
});

test("an error in the query quotes the user's statement, caret in place, not the CREATE around it", async () => {
  const session = new QuerySession(duck);
  await assert.rejects(session.materialize('SELECT 1 AS a,\n  b FROM range(3) t(c)', 'out_error', false), (e: unknown) => {
    const message = e instanceof Error ? e.message : '';
    assert.match(message, /Referenced column "b" not found/);
    assert.doesNotMatch(message, /CREATE|out_error/);
    const lines = message.split('\n');
    const quoted = lines.findIndex((l) => l.startsWith('LINE 2:'));
    assert.equal(lines[quoted], 'LINE 2:   b FROM range(3) t(c)');
    assert.equal(lines[quoted + 1]?.indexOf('^'), 'LINE 2:   '.length);
    return true;
  });
  await assert.rejects(session.materialize('SELECT * FROM missing_table', 'out_missing', false), (e: unknown) => {
    const message = e instanceof Error ? e.message : '';
    assert.match(message, /LINE 1: SELECT \* FROM missing_table\n {22}\^/);
    return true;
  });
});

test('a statement that is not a query (COPY) runs as it is, and what it reports becomes the output', async () => {
  const session = new QuerySession(duck);
  const file = path.join(dir, 'rows.csv').replaceAll("'", "''");
  await session.materialize(`COPY (FROM range(4)) TO '${file}' (FORMAT csv)`, 'out_copy', false);
  const reader = await duck.runAndReadAll('SELECT * FROM out_copy');
  assert.deepEqual(reader.getRowObjectsJS(), [{ Count: 4n }]);
});
