/**
 * The kernel hands a completed block's DuckDB connection to the next block only when the block
 * left it as it was opened (one query made into the output): a block's extra statements, temp
 * tables or settings never reach another block.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { loadPipeline } from '../../lib/project/load';
import { runBlocks } from '../support/run-engine';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;
let kernel: KernelHost;

before(async () => {
  const block = (uuid: string) => `  - uuid: ${uuid}\n    type: data_loader\n    language: sql\n    upstream_blocks: []\n`;
  project = await writeProject('conns', {
    'pipelines/p/metadata.yaml': `name: p\nuuid: p\nblocks:\n${block('plain')}${block('makes_temp')}${block('reads_temp')}${block('sets_limit')}${block('after_limit')}`,
    'data_loaders/plain.sql': 'SELECT 1 AS x\n',
    'data_loaders/makes_temp.sql': 'CREATE TEMP TABLE leftover AS SELECT 42 AS secret;\nSELECT 2 AS x\n',
    'data_loaders/reads_temp.sql': 'SELECT * FROM leftover\n',
    'data_loaders/sets_limit.sql': "SET VARIABLE leaked = 'yes';\nSELECT 3 AS x\n",
    'data_loaders/after_limit.sql': "SELECT getvariable('leaked') AS leaked\n",
  });
  kernel = new KernelHost({ projectDir: project.dir, dataDir: path.join(project.dir, '.grimoire'), pipelineUuid: 'p', cacheDir: null });
});

after(async () => {
  await kernel?.close();
  await project?.cleanup();
});

test("a block's temp tables and settings never reach the next block on a reused connection", async () => {
  const { pipeline } = await loadPipeline(project.dir, 'p');
  // Block by block, so each runs after the one before handed its connection back (or not).
  const statusOf = async (block: string) => (await runBlocks({ kernel, pipeline, scope: { kind: 'block', block } })).blocks.get(block);
  assert.equal((await statusOf('plain'))?.status, 'completed');
  const makes = await statusOf('makes_temp');
  assert.equal(makes?.status, 'completed', JSON.stringify(makes?.error));
  const reads = await statusOf('reads_temp');
  assert.equal(reads?.status, 'failed');
  assert.match(reads?.error?.message ?? '', /leftover/);
  const sets = await statusOf('sets_limit');
  assert.equal(sets?.status, 'completed', JSON.stringify(sets?.error));
  const rows: unknown[] = [];
  const run = await runBlocks({ kernel, pipeline, scope: { kind: 'block', block: 'after_limit' }, onEvent: (e) => e.type === 'output' && rows.push(...e.preview.rows) });
  const outcome = run.blocks.get('after_limit');
  assert.equal(outcome?.status, 'completed', JSON.stringify(outcome?.error));
  assert.deepEqual(rows, [{ leaked: null }]);
});
