import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { KernelHost } from '../../lib/kernel/host';
import { runBlocks, type RunResult } from '../support/run-engine';
import { databaseAlias } from '../../lib/kernel/profile-database';
import { findTemplate } from '../../lib/pipeline/block-templates';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import { exists } from '../../lib/project/files';
import { writeProject } from '../support/write-project';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function withDuckDb<T>(file: string, work: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  try {
    return await work(async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJS());
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function runProject(files: Record<string, string>, prepare?: (dir: string) => Promise<void>): Promise<{ dir: string; kernel: KernelHost; run: RunResult; previews: Map<string, Record<string, unknown>[]> }> {
  const project = await writeProject('warehouse', files);
  await prepare?.(project.dir);
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', cacheDir: null });
  cleanups.push(async () => {
    await kernel.close();
    await project.cleanup();
  });
  const { pipeline } = await loadPipeline(project.dir, 'p');
  const previews = new Map<string, Record<string, unknown>[]>();
  const run = await runBlocks({ kernel, pipeline, scope: { kind: 'pipeline' }, onEvent: (e) => e.type === 'output' && previews.set(e.block, e.preview.rows) });
  return { dir: project.dir, kernel, run, previews };
}

test('the alias of a profile database is its file name, as DuckDB names an ATTACH', () => {
  assert.equal(databaseAlias('/p/data/warehouse.duckdb'), 'warehouse');
  assert.equal(databaseAlias('/p/my-db.v2.duckdb'), 'my_db_v2');
  assert.equal(databaseAlias('/p/2024.duckdb'), 'db_2024');
});

test("SQL blocks read a profile's DUCKDB_DATABASE tables by name, write into it by alias, and leave it unlocked", async () => {
  const { dir, run, previews } = await runProject(
    {
      'io_config.yaml': 'version: 0.1.1\ndefault:\n  DUCKDB_DATABASE: data/warehouse.duckdb\n',
      'pipelines/p/metadata.yaml': [
        'blocks:',
        '  - { uuid: trips, type: data_loader, language: sql, upstream_blocks: [] }',
        '  - { uuid: store, type: data_exporter, language: sql, upstream_blocks: [trips], configuration: { data_provider: duckdb, data_provider_profile: default } }',
        '',
      ].join('\n'),
      // An output and a table of the file share a name: the block's upstream output wins.
      'data_loaders/trips.sql': 'SELECT count(*)::INTEGER AS n, sum(fare)::DOUBLE AS fares FROM rides\n',
      'data_exporters/store.sql': 'CREATE OR REPLACE TABLE warehouse.summary AS SELECT * FROM {{ df_1 }};\nSELECT * FROM summary\n',
    },
    async (projectDir) => {
      await mkdir(path.join(projectDir, 'data'));
      await withDuckDb(path.join(projectDir, 'data', 'warehouse.duckdb'), async (sql) => {
        await sql('CREATE TABLE rides AS SELECT i AS id, i * 1.5 AS fare FROM range(10) t(i)');
        await sql("CREATE TABLE trips AS SELECT 'the file''s own trips' AS n");
      });
    },
  );
  assert.equal(run.status, 'completed', JSON.stringify([...run.blocks.values()].map((b) => b.error)));
  assert.deepEqual(previews.get('trips'), [{ n: 10, fares: 67.5 }]);
  assert.deepEqual(previews.get('store'), [{ n: 10, fares: 67.5 }]);
  // The kernel is still running, yet the file opens for writing: it was detached after the block.
  const rows = await withDuckDb(path.join(dir, 'data', 'warehouse.duckdb'), (sql) => sql('SELECT n, fares FROM summary'));
  assert.deepEqual(rows, [{ n: 10, fares: 67.5 }]);
});

test('a DUCKDB_DATABASE that is not a DuckDB file fails the block with the profile and path, and is left as it was', async () => {
  const junk = 'not a database\n';
  const { dir, run } = await runProject(
    {
      'io_config.yaml': 'version: 0.1.1\nlake:\n  DUCKDB_DATABASE: notes.txt\n',
      'notes.txt': junk,
      'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: q, type: data_loader, language: sql, upstream_blocks: [], configuration: { data_provider_profile: lake } }\n',
      'data_loaders/q.sql': 'SELECT 1 AS one\n',
    },
  );
  assert.equal(run.status, 'failed');
  const message = run.blocks.get('q')?.error?.message ?? '';
  assert.match(message, /cannot open the DuckDB database .*notes\.txt \(profile "lake", DUCKDB_DATABASE\)/);
  assert.equal(await readFile(path.join(dir, 'notes.txt'), 'utf8'), junk);
});

test('a data_provider_profile that io_config.yaml does not have is a clear error', async () => {
  const { run } = await runProject({
    'io_config.yaml': 'version: 0.1.1\ndefault:\n  DUCKDB_DATABASE: data/w.duckdb\n',
    'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: q, type: data_loader, language: sql, upstream_blocks: [], configuration: { data_provider: duckdb, data_provider_profile: prod } }\n',
    'data_loaders/q.sql': 'SELECT 1 AS one\n',
  });
  assert.equal(run.status, 'failed');
  assert.match(run.blocks.get('q')?.error?.message ?? '', /profile "prod" is not in io_config\.yaml \(profiles: default\)/);
});

test('TypeScript blocks query and export through ctx.io.duckdb(profile): replace, append, fail', async () => {
  const { dir, run, previews } = await runProject(
    {
      'io_config.yaml': 'version: 0.1.1\ndefault:\n  DUCKDB_DATABASE: data/warehouse.duckdb\n',
      'pipelines/p/metadata.yaml': [
        'blocks:',
        '  - { uuid: load, type: data_loader, language: typescript, upstream_blocks: [] }',
        '  - { uuid: save, type: data_exporter, language: typescript, upstream_blocks: [load] }',
        '',
      ].join('\n'),
      'data_loaders/load.ts': "export default async function load(ctx: BlockContext) {\n  return ctx.io.duckdb().query('SELECT id, fare FROM rides WHERE id < 4 ORDER BY id');\n}\n",
      'data_exporters/save.ts': `export default async function save(rides: DataFrame, ctx: BlockContext) {
  const io = ctx.io.duckdb('default');
  const first = await io.export(rides, { table: 'copied' });
  const again = await io.export(rides, { table: 'copied', writePolicy: 'append' });
  let refused = '';
  try {
    await io.export(rides, { table: 'copied', writePolicy: 'fail' });
  } catch (e) {
    refused = e instanceof Error ? e.message : String(e);
  }
  const [counted] = await (await io.query('SELECT count(*)::INTEGER AS n FROM copied')).rows();
  return [{ first: first.rows, again: again.rows, n: counted?.n, refused }];
}
`,
    },
    async (projectDir) => {
      await mkdir(path.join(projectDir, 'data'));
      await withDuckDb(path.join(projectDir, 'data', 'warehouse.duckdb'), (sql) => sql('CREATE TABLE rides AS SELECT i AS id, i * 1.5 AS fare FROM range(10) t(i)'));
    },
  );
  assert.equal(run.status, 'completed', JSON.stringify([...run.blocks.values()].map((b) => b.error)));
  assert.equal(previews.get('load')?.length, 4);
  assert.deepEqual(previews.get('save'), [{ first: 4, again: 4, n: 8, refused: 'table warehouse.main.copied already exists (write_policy: fail)' }]);
  const rows = await withDuckDb(path.join(dir, 'data', 'warehouse.duckdb'), (sql) => sql('SELECT count(*)::INTEGER AS n, sum(fare)::DOUBLE AS fares FROM copied'));
  assert.deepEqual(rows, [{ n: 8, fares: 18 }]);
});

test('ctx.io.duckdb with a profile that has no DUCKDB_DATABASE says so', async () => {
  const { run } = await runProject({
    'io_config.yaml': 'version: 0.1.1\ndefault:\n  POSTGRES_HOST: 127.0.0.1\n',
    'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: load, type: data_loader, language: typescript, upstream_blocks: [] }\n',
    'data_loaders/load.ts': "export default async function load(ctx: BlockContext) {\n  return ctx.io.duckdb().query('SELECT 1');\n}\n",
  });
  assert.equal(run.status, 'failed');
  assert.match(run.blocks.get('load')?.error?.message ?? '', /profile "default" in io_config\.yaml has no DUCKDB_DATABASE/);
});

test('the DuckDB templates, as added from the menu, copy a table into the database file and read it back', async () => {
  const template = (id: string, uuid: string, upstream: string[] = []) => {
    const found = findTemplate(id);
    assert.ok(found, `template ${id} exists`);
    return found.code(uuid, upstream);
  };
  const { dir, run, previews } = await runProject(
    {
      'io_config.yaml': 'version: 0.1.1\ndefault:\n  DUCKDB_DATABASE: data/warehouse.duckdb\n',
      'pipelines/p/metadata.yaml': [
        'blocks:',
        '  - { uuid: trips, type: data_loader, language: sql, upstream_blocks: [] }',
        '  - { uuid: store, type: data_exporter, language: typescript, upstream_blocks: [trips] }',
        '  - { uuid: reread, type: data_loader, language: typescript, upstream_blocks: [store] }',
        '',
      ].join('\n'),
      'data_loaders/trips.sql': 'SELECT range AS id, range * 2 AS fare FROM range(25)\n',
      'data_exporters/store.ts': template('exporter_duckdb_ts', 'store', ['trips']),
      'data_loaders/reread.ts': template('loader_duckdb_ts', 'reread', ['store']),
    },
  );
  assert.equal(run.status, 'completed', JSON.stringify([...run.blocks.values()].map((b) => b.error)));
  assert.deepEqual(previews.get('store'), [{ rows: 25 }]);
  assert.equal(run.blocks.get('reread')?.rowCount, 25);
  const rows = await withDuckDb(path.join(dir, 'data', 'warehouse.duckdb'), (sql) => sql('SELECT count(*)::INTEGER AS n FROM green_taxi'));
  assert.deepEqual(rows, [{ n: 25 }]);
});

test("a plain SQL block leaves the default profile's DUCKDB_DATABASE alone until that file exists", async () => {
  // What a new project's io_config.yaml says: the file is named, but nothing has made it yet.
  const { dir, run, previews } = await runProject({
    'io_config.yaml': 'version: 0.1.1\ndefault:\n  DUCKDB_DATABASE: data/warehouse.duckdb\n',
    'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: q, type: data_loader, language: sql, upstream_blocks: [] }\n',
    'data_loaders/q.sql': 'SELECT 42 AS answer\n',
  });
  assert.equal(run.status, 'completed', JSON.stringify([...run.blocks.values()].map((b) => b.error)));
  assert.deepEqual(previews.get('q'), [{ answer: 42 }]);
  assert.equal(await exists(path.join(dir, 'data', 'warehouse.duckdb')), false);
});
