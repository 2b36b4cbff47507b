/**
 * Lazy SQL outputs in a one-shot run (`grimoire run`'s engine request: lazyOutputs, no output
 * cache), against a real kernel, DuckDB and Postgres: the homework written in SQL only (a CSV
 * loader, a cleaning transformer, two `SELECT * FROM {{ df_1 }}` exporters with a Postgres and a
 * Parquet destination) writes the same rows as with tables everywhere, while the pass-through
 * exporters are views of the cleaned table. Every block a block reads stays a table, computed in
 * full when its block runs, as in the editor: an error in its rows fails it, whatever its reader
 * needs. Without lazyOutputs (the editor), every output is a table with its preview.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { dataDirOf } from '../../lib/project/paths';
import { loadPipeline } from '../../lib/project/load';
import { type OutputPreview } from '../../lib/protocol/run-events';
import { postgresProfileYaml, testPostgres, type TestPostgres } from '../support/postgres';
import { runBlocks } from '../support/run-engine';
import { writeProject } from '../support/write-project';

let db: TestPostgres;
let project: Awaited<ReturnType<typeof writeProject>>;

const CSV_ROWS = 300;

before(async () => {
  db = await testPostgres();
  const csv = ['id,zone,passengers,fare,picked_up', ...Array.from({ length: CSV_ROWS }, (_, i) => `${i},Zone ${i % 4},${i % 5},${(i * 1.25).toFixed(2)},2020-10-0${1 + (i % 3)} 0${i % 10}:15:00`)].join('\n');
  project = await writeProject('lazy', {
    'io_config.yaml': postgresProfileYaml('default', db.schema),
    'pipelines/homework/metadata.yaml': `blocks:
  - { uuid: trips, type: data_loader, language: sql }
  - { uuid: clean, type: transformer, language: sql, upstream_blocks: [trips] }
  - uuid: to_pg
    type: data_exporter
    language: sql
    upstream_blocks: [clean]
    configuration: { destination: { type: postgres, table: trips_clean } }
  - uuid: to_lake
    type: data_exporter
    language: sql
    upstream_blocks: [clean]
    configuration: { destination: { type: parquet, path: lake/trips, partition_by: [pickup_date] } }
`,
    'data_loaders/trips.sql': "SELECT * FROM read_csv('{{ project_dir }}/raw/trips.csv', header = true, columns = {'id': 'INTEGER', 'zone': 'VARCHAR', 'passengers': 'INTEGER', 'fare': 'DECIMAL(10,2)', 'picked_up': 'TIMESTAMP'})\n",
    'transformers/clean.sql': 'SELECT id, zone, fare, picked_up, CAST(picked_up AS DATE) AS pickup_date FROM {{ df_1 }} WHERE passengers > 0\n',
    'data_exporters/to_pg.sql': 'SELECT * FROM {{ df_1 }}\n',
    'data_exporters/to_lake.sql': 'SELECT * FROM {{ df_1 }};\n',
    // Asked of the kernel after a run (not part of any pipeline): what each output is in its DuckDB,
    // and that the exporters' views still read their rows.
    'transformers/catalog.sql':
      "SELECT table_name, table_type, (SELECT count(*) FROM to_pg)::INTEGER AS pg_rows, (SELECT count(*) FROM to_lake)::INTEGER AS lake_rows\nFROM information_schema.tables WHERE table_name IN ('trips', 'clean', 'to_pg', 'to_lake') ORDER BY table_name\n",
    // A chain of queries, each read by the next only.
    'pipelines/chain/metadata.yaml': `blocks:
  - { uuid: c_numbers, type: data_loader, language: sql }
  - { uuid: c_doubled, type: transformer, language: sql, upstream_blocks: [c_numbers] }
  - { uuid: c_tripled, type: transformer, language: sql, upstream_blocks: [c_doubled] }
  - { uuid: c_summed, type: transformer, language: sql, upstream_blocks: [c_tripled] }
`,
    // A line comment at the end: the subquery's closing parenthesis must not be commented out.
    'data_loaders/c_numbers.sql': '-- a hundred numbers\nSELECT range AS n FROM range(100) -- 0..99',
    'transformers/c_doubled.sql': 'SELECT n * 2 AS n FROM {{ df_1 }}\n',
    'transformers/c_tripled.sql': 'SELECT n * 3 AS n FROM {{ df_1 }}\n',
    'transformers/c_summed.sql': 'SELECT sum(n)::BIGINT AS total, count(*)::INTEGER AS rows FROM {{ df_1 }}\n',
    // A loader read by one exporter that passes it through: a table, and a view of it.
    'pipelines/direct/metadata.yaml': `blocks:
  - { uuid: numbers, type: data_loader, language: sql }
  - uuid: numbers_out
    type: data_exporter
    language: sql
    upstream_blocks: [numbers]
    configuration: { destination: { type: postgres, table: numbers } }
`,
    'data_loaders/numbers.sql': 'SELECT range::INTEGER AS n, range * 2 AS doubled FROM range(50)\n',
    'data_exporters/numbers_out.sql': 'SELECT * FROM {{ df_1 }}\n',
    // Rows a reader does not need are still the block's: a bad one fails the block that makes it.
    'pipelines/rows/metadata.yaml': `blocks:
  - { uuid: r_src, type: data_loader, language: sql }
  - { uuid: r_cast, type: transformer, language: sql, upstream_blocks: [r_src] }
  - { uuid: r_count, type: transformer, language: sql, upstream_blocks: [r_cast] }
`,
    'data_loaders/r_src.sql': "SELECT * FROM (VALUES (1, '1'), (2, 'x'), (3, '3')) t(k, s)\n",
    'transformers/r_cast.sql': 'SELECT k, CAST(s AS INTEGER) AS i FROM {{ df_1 }}\n',
    'transformers/r_count.sql': 'SELECT count(*) AS n FROM {{ df_1 }} WHERE k <> 2\n',
    // A column of NULLs gets a table's type (INTEGER), as in the editor.
    'pipelines/nulls/metadata.yaml': `blocks:
  - { uuid: n_src, type: data_loader, language: sql }
  - { uuid: n_read, type: transformer, language: sql, upstream_blocks: [n_src] }
`,
    'data_loaders/n_src.sql': 'SELECT 1 AS k, NULL AS note\n',
    'transformers/n_read.sql': 'SELECT typeof(note) AS t FROM {{ df_1 }}\n',
  });
  await mkdir(path.join(project.dir, 'raw'), { recursive: true });
  await writeFile(path.join(project.dir, 'raw', 'trips.csv'), csv);
});

after(async () => {
  await project?.cleanup();
  await db?.close();
});

const KEPT = Array.from({ length: CSV_ROWS }, (_, i) => i).filter((i) => i % 5 > 0).length;

/** Runs pipeline `uuid` as `grimoire run` does (lazy) or as the editor does; previews by block. */
async function run(uuid: string, lazy: boolean): Promise<{ statuses: Map<string, string>; previews: Map<string, OutputPreview>; logs: string; catalog: unknown }> {
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: uuid, cacheDir: null, envDefaults: db.env });
  try {
    const { pipeline } = await loadPipeline(project.dir, uuid);
    const previews = new Map<string, OutputPreview>();
    let logs = '';
    const result = await runBlocks({
      kernel,
      pipeline,
      scope: { kind: 'pipeline' },
      releaseOutputs: true,
      lazyOutputs: lazy,
      onEvent: (e) => {
        if (e.type === 'output') previews.set(e.block, e.preview);
        if (e.type === 'log') logs += e.text;
      },
    });
    const statuses = new Map([...result.blocks].map(([name, b]) => [name, `${b.status}${b.error ? `: ${b.error.message}` : ''}`]));
    const asked = await kernel.execute({
      runId: 'inspect',
      block: { uuid: 'catalog', type: 'transformer', language: 'sql', file: 'transformers/catalog.sql', upstream: [], configuration: {} },
      variables: {},
      executionDate: new Date().toISOString(),
    });
    const catalog = asked.status === 'completed' ? asked.preview?.rows : asked;
    return { statuses, previews, logs, catalog };
  } finally {
    await kernel.close();
  }
}

async function pgRows(table: string): Promise<{ count: number; types: string[] }> {
  const c = await db.client();
  try {
    const count = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${db.schema}.${table}`);
    const types = await c.query<{ t: string }>(`SELECT column_name || ' ' || data_type AS t FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [db.schema, table]);
    return { count: Number(count.rows[0]?.n), types: types.rows.map((r) => r.t) };
  } finally {
    await c.end();
  }
}

test('the all-SQL homework in a one-shot run: every block a block reads is a table, pass-through exporters are views, and the rows land as with tables', async () => {
  const { statuses, previews, logs, catalog } = await run('homework', true);
  for (const b of ['trips', 'clean', 'to_pg', 'to_lake']) assert.equal(statuses.get(b), 'completed', `${b}: ${statuses.get(b)}`);
  // The loader was made and counted as in the editor.
  assert.equal(previews.get('trips')?.rowCount, CSV_ROWS);
  assert.equal(previews.get('clean')?.rowCount, KEPT);
  // Pass-through views are counted and previewed as the table they read.
  assert.equal(previews.get('to_pg')?.rowCount, KEPT);
  assert.equal(previews.get('to_lake')?.rowCount, KEPT);
  assert.deepEqual(previews.get('to_pg')?.columns.map((c) => c.name), ['id', 'zone', 'fare', 'picked_up', 'pickup_date']);
  // trips was released once clean was done; the exporters are views of clean.
  assert.deepEqual(catalog, [
    { table_name: 'clean', table_type: 'BASE TABLE', pg_rows: KEPT, lake_rows: KEPT },
    { table_name: 'to_lake', table_type: 'VIEW', pg_rows: KEPT, lake_rows: KEPT },
    { table_name: 'to_pg', table_type: 'VIEW', pg_rows: KEPT, lake_rows: KEPT },
  ]);
  assert.match(logs, new RegExp(`exported ${KEPT} rows to Postgres ${db.schema}\\.trips_clean`));
  assert.match(logs, new RegExp(`exported ${KEPT} rows to lake/trips`));
  const pgTable = await pgRows('trips_clean');
  assert.equal(pgTable.count, KEPT);
  assert.deepEqual(pgTable.types, ['id integer', 'zone text', 'fare numeric', 'picked_up timestamp without time zone', 'pickup_date date']);
  assert.deepEqual((await readdir(path.join(project.dir, 'lake', 'trips'))).sort(), ['pickup_date=2020-10-01', 'pickup_date=2020-10-02', 'pickup_date=2020-10-03']);
});

test('the same pipeline as the editor runs it: every output a table with its preview, the same rows written', async () => {
  const { statuses, previews, catalog } = await run('homework', false);
  for (const b of ['trips', 'clean', 'to_pg', 'to_lake']) assert.equal(statuses.get(b), 'completed', `${b}: ${statuses.get(b)}`);
  assert.equal(previews.get('trips')?.rowCount, CSV_ROWS);
  assert.deepEqual(catalog, [
    { table_name: 'clean', table_type: 'BASE TABLE', pg_rows: KEPT, lake_rows: KEPT },
    { table_name: 'to_lake', table_type: 'BASE TABLE', pg_rows: KEPT, lake_rows: KEPT },
    { table_name: 'to_pg', table_type: 'BASE TABLE', pg_rows: KEPT, lake_rows: KEPT },
  ]);
  assert.equal((await pgRows('trips_clean')).count, KEPT);
});

test('a loader passed through by its one exporter: the loader a table, the exporter a view of it, every row exported once', async () => {
  const { statuses, previews } = await run('direct', true);
  assert.equal(statuses.get('numbers'), 'completed');
  assert.equal(statuses.get('numbers_out'), 'completed');
  assert.equal(previews.get('numbers')?.rowCount, 50);
  assert.equal(previews.get('numbers_out')?.rowCount, 50);
  assert.deepEqual(await pgRows('numbers'), { count: 50, types: ['n integer', 'doubled bigint'] });
});

test('a chain of queries each read once: every block counted, and the last block gets every row', async () => {
  const { statuses, previews } = await run('chain', true);
  for (const b of ['c_numbers', 'c_doubled', 'c_tripled', 'c_summed']) assert.equal(statuses.get(b), 'completed', `${b}: ${statuses.get(b)}`);
  assert.deepEqual([previews.get('c_numbers')?.rowCount, previews.get('c_doubled')?.rowCount, previews.get('c_tripled')?.rowCount], [100, 100, 100]);
  // sum(0..99) * 6
  assert.deepEqual(previews.get('c_summed')?.rows, [{ total: 29700, rows: 100 }]);
});

test('a one-shot run ends as the editor does: a bad row fails the block that makes it even where its reader would skip it, and a NULL column is typed', async () => {
  for (const lazy of [true, false]) {
    const rows = await run('rows', lazy);
    assert.match(rows.statuses.get('r_cast') ?? '', /^failed: .*Could not convert string 'x'/s, `lazy ${lazy}`);
    assert.equal(rows.statuses.get('r_count'), 'upstream_failed', `lazy ${lazy}`);
    const nulls = await run('nulls', lazy);
    assert.deepEqual(nulls.previews.get('n_read')?.rows, [{ t: 'INTEGER' }], `lazy ${lazy}`);
  }
});

test('an error in the CSV rows fails the loader that reads them, and nothing is exported', async () => {
  await writeFile(path.join(project.dir, 'raw', 'trips.csv'), 'id,zone,passengers,fare,picked_up\n1,Zone 1,1,1.00,not a time\n');
  const { statuses } = await run('homework', true);
  assert.match(statuses.get('trips') ?? '', /^failed: .*not a time/s);
  assert.equal(statuses.get('clean'), 'upstream_failed');
  assert.equal(statuses.get('to_pg'), 'upstream_failed');
  assert.equal((await pgRows('trips_clean')).count, KEPT, 'the table of the run before is kept');
});
