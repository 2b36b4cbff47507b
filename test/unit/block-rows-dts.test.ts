/**
 * The editor's row types, checked by the TypeScript compiler itself: a block typed
 * `DataFrame<'load'>` sees load's columns in rows(), and a column that is not there is an error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { blockApiGlobals } from '../../lib/block-types/block-api-dts';
import { blockRowsDeclaration, tsTypeOfDuck } from '../../lib/block-types/block-rows-dts';

const REPO = path.resolve(__dirname, '..', '..');

test('DuckDB types map to what rows() returns', () => {
  assert.equal(tsTypeOfDuck('BIGINT'), 'number');
  assert.equal(tsTypeOfDuck('DECIMAL(10,2)'), 'number');
  assert.equal(tsTypeOfDuck('DECIMAL(15,2)'), 'number');
  assert.equal(tsTypeOfDuck('DECIMAL(18,2)'), 'string', 'more than 15 digits: exact text');
  assert.equal(tsTypeOfDuck('DECIMAL(38,10)'), 'string');
  assert.equal(tsTypeOfDuck('VARCHAR'), 'string');
  assert.equal(tsTypeOfDuck('TIMESTAMP WITH TIME ZONE'), 'Date');
  assert.equal(tsTypeOfDuck('HUGEINT'), 'bigint');
  assert.equal(tsTypeOfDuck('INTEGER[]'), 'Array<number | null>');
  assert.equal(tsTypeOfDuck('STRUCT(a INTEGER, b VARCHAR)'), 'Record<string, unknown>');
  assert.equal(tsTypeOfDuck('INTERVAL'), 'unknown');
});

test('the generated declarations type rows() by the upstream block, checked by tsc', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'grimoire-rows-'));
  try {
    const api = blockApiGlobals(await readFile(path.join(REPO, 'lib', 'kernel', 'block-api.ts'), 'utf8'));
    const rows = blockRowsDeclaration({
      load_trips: [
        { name: 'trip_id', type: 'BIGINT' },
        { name: 'pickup', type: 'TIMESTAMP' },
        { name: 'zone name', type: 'VARCHAR' },
      ],
      never_ran: [],
    });
    assert.doesNotMatch(rows, /never_ran/);
    await writeFile(path.join(dir, 'api.d.ts'), api);
    await writeFile(path.join(dir, 'rows.d.ts'), rows);
    const good = `export default async function clean(load_trips: DataFrame<'load_trips'>, other: DataFrame<'unknown_block'>, plain: DataFrame) {
  const [row] = await load_trips.rows({ limit: 1 });
  const id: number | null = row ? row.trip_id : null;
  const when: Date | null | undefined = row?.pickup;
  const zone: string | null | undefined = row?.['zone name'];
  const anything: unknown = (await other.rows())[0]?.whatever;
  const also: unknown = (await plain.rows())[0]?.whatever;
  return [{ id, when, zone, anything, also }];
}
`;
    const bad = `export default async function clean(load_trips: DataFrame<'load_trips'>) {
  const [row] = await load_trips.rows();
  return [{ x: row?.passenger_count }];
}
`;
    await writeFile(path.join(dir, 'good.ts'), good);
    await writeFile(path.join(dir, 'bad.ts'), bad);
    const tsc = path.join(REPO, 'node_modules', '.bin', 'tsc');
    const opts = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--skipLibCheck', 'false', '--types', ''];
    // Run inside the temp folder: no tsconfig.json there, so tsc checks just these files.
    await promisify(execFile)(tsc, [...opts, 'api.d.ts', 'rows.d.ts', 'good.ts'], { cwd: dir });
    const failed = await promisify(execFile)(tsc, [...opts, 'api.d.ts', 'rows.d.ts', 'bad.ts'], { cwd: dir }).then(
      () => '',
      (e: unknown) => (e && typeof e === 'object' && 'stdout' in e ? String(e.stdout) : String(e)),
    );
    assert.match(failed, /Property 'passenger_count' does not exist on type '\{ trip_id: number \| null; pickup: Date \| null; "zone name": string \| null; \}'/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
