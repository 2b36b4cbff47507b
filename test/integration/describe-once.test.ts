/**
 * A block's output table is described (its columns, `SELECT * ... LIMIT 0`, and its row count)
 * once per run: the preview and the pages asked afterwards reuse that description. Counted with
 * DuckDB's own query log, in this process, over the kernel's real executeBlock and queryOutput.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { executeBlock, type KernelEnv } from '../../lib/kernel/execute-block';
import { type BlockOutcome, type KernelCommand } from '../../lib/kernel/ipc';
import { RunsClient } from '../../lib/kernel/runs-client';
import { OutputStore } from '../../lib/kernel/outputs';
import { ProfileDatabases } from '../../lib/kernel/profile-database';
import { type ProgressReport } from '../../lib/kernel/progress';
import { OutputDescriptions, queryOutput } from '../../lib/kernel/query-output';
import { dataDirOf } from '../../lib/project/paths';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;
let instance: DuckDBInstance;
let log: DuckDBConnection;
let env: KernelEnv;
const opened: DuckDBConnection[] = [];

const connect = async (): Promise<DuckDBConnection> => {
  const c = await instance.connect();
  opened.push(c);
  return c;
};

/** Progress nobody listens to. */
const quiet = (): ProgressReport & { stop(): void } => ({ track: (_phase, work) => work(() => undefined), report: () => undefined, stop: () => undefined });

before(async () => {
  project = await writeProject('described', {
    'data_loaders/orders.sql': 'SELECT range AS id, range % 3 AS shop FROM range(25)\n',
    'data_loaders/bad.sql': 'SELECT no_such_column FROM range(3)\n',
  });
  instance = await DuckDBInstance.create(':memory:');
  log = await instance.connect();
  await log.run("CALL enable_logging('QueryLog')");
  env = {
    connect,
    // No Parquet copies: the outputs stay in this DuckDB, as in a one-shot run.
    store: new OutputStore(null, await connect(), connect),
    release: (connection) => connection.closeSync(),
    outputCopies: 'wait',
    projectDir: project.dir,
    dataDir: dataDirOf(project.dir),
    pipelineUuid: 'p',
    buildDir: dataDirOf(project.dir),
    databases: new ProfileDatabases(),
    connections: new Set(),
    log: () => undefined,
    runs: (cmd) => new RunsClient(() => undefined).forBlock(cmd),
  };
});

after(async () => {
  for (const c of opened) c.closeSync();
  log?.closeSync();
  await project?.cleanup();
});

/**
 * Statements that described a table so far: a block's output is described by its preview's
 * `SELECT * FROM t LIMIT n` (describeWithHead), an output read back from Parquet by describe()'s `LIMIT 0`.
 */
async function describes(): Promise<string[]> {
  const reader = await log.runAndReadAll("SELECT message FROM duckdb_logs WHERE type = 'QueryLog'");
  return reader
    .getRowObjectsJS()
    .map((r) => String(r.message))
    .filter((sql) => /^SELECT \* FROM \S+ LIMIT \d+$/.test(sql.trim()));
}

function run(block: string, descriptions: OutputDescriptions): Promise<BlockOutcome> {
  const cmd: Extract<KernelCommand, { type: 'execute' }> = {
    type: 'execute',
    role: { kind: 'block' },
    name: block,
    runId: 'r1',
    block: { uuid: block, type: 'data_loader', language: 'sql', file: `data_loaders/${block}.sql`, upstream: [], configuration: {} },
    variables: {},
    executionDate: new Date().toISOString(),
    previewRows: 10,
    secrets: {},
  };
  return descriptions.track(block, () => executeBlock(cmd, env, quiet));
}

test('running a block and paging its output describes the table once', async () => {
  const descriptions = new OutputDescriptions();
  const before = (await describes()).length;
  const outcome = await run('orders', descriptions);
  assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
  if (outcome.status !== 'completed' || !outcome.preview) return assert.fail('a block that is not lazy comes with its preview');
  assert.deepEqual(outcome.preview.columns.map((c) => c.name), ['id', 'shop']);
  assert.equal(outcome.preview.rowCount, 25);
  assert.equal(outcome.preview.rows.length, 10);

  const page = await queryOutput(connect, env.store, 'orders', { kind: 'page', offset: 20, limit: 10, filters: [] }, descriptions);
  assert.equal(page.kind, 'page');
  if (page.kind !== 'page') return;
  assert.equal(page.totalRowCount, 25);
  assert.equal(page.rows.length, 5);
  assert.deepEqual(page.columns, outcome.preview.columns);
  await queryOutput(connect, env.store, 'orders', { kind: 'chart', chart: 'bar', x: 'shop', bins: 20, filters: [] }, descriptions);

  const seen = (await describes()).slice(before);
  assert.equal(seen.length, 1, `described ${seen.length} times:\n${seen.join('\n')}`);
});

test('a kernel that did not run the block (a restart) describes it for its first page', async () => {
  const before = (await describes()).length;
  const page = await queryOutput(connect, env.store, 'orders', { kind: 'page', offset: 0, limit: 5, filters: [] }, new OutputDescriptions());
  assert.equal(page.kind === 'page' ? page.totalRowCount : -1, 25);
  assert.equal((await describes()).length - before, 1);
});

test('a failed run leaves no description behind: the table it did not replace is described again', async () => {
  const descriptions = new OutputDescriptions();
  assert.equal((await run('orders', descriptions)).status, 'completed');
  assert.ok(descriptions.get('orders'));
  const failed = await descriptions.track('orders', async () => ({ status: 'failed', durationMs: 1, error: { kind: 'sql', message: 'no' } }));
  assert.equal(failed.status, 'failed');
  assert.equal(descriptions.get('orders'), undefined);
  assert.equal((await run('bad', descriptions)).status, 'failed');
  assert.equal(descriptions.get('bad'), undefined);
});

test('while another run of the same block is still going, a finished run keeps no description', async () => {
  const descriptions = new OutputDescriptions();
  const columns = [{ name: 'x', type: 'INTEGER' }];
  let finishSlow: (o: BlockOutcome) => void = () => undefined;
  const slow = descriptions.track('b', () => new Promise<BlockOutcome>((resolve) => (finishSlow = resolve)));
  await descriptions.track('b', async () => ({ status: 'completed', durationMs: 1, preview: { columns, rows: [], rowCount: 1 } }));
  // The slow run is about to replace the table the fast one described.
  assert.equal(descriptions.get('b'), undefined);
  finishSlow({ status: 'completed', durationMs: 2, preview: { columns, rows: [], rowCount: 2 } });
  await slow;
  assert.equal(descriptions.get('b')?.rowCount, 2);
});
