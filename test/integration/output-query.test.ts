import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { runBlocks } from '../support/run-engine';
import { outputQuerySchema, type OutputAnswer, type OutputQueryInput } from '../../lib/protocol/output-query';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;
let kernel: KernelHost;

before(async () => {
  project = await writeProject('paging', {
    'pipelines/p/metadata.yaml': 'blocks:\n  - uuid: big\n    type: data_loader\n    language: sql\n    upstream_blocks: []\n',
    'data_loaders/big.sql':
      "SELECT range::BIGINT AS id, (range % 7)::INTEGER AS bucket, 'name ' || range AS label, DATE '2020-01-01' + (range % 30)::INTEGER AS day FROM range(2000000)",
  });
  kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p' });
  const { pipeline } = await loadPipeline(project.dir, 'p');
  const run = await runBlocks({ kernel, pipeline, scope: { kind: 'pipeline' } });
  assert.equal(run.status, 'completed');
});

after(async () => {
  await kernel?.close();
  await project?.cleanup();
});

async function ask(query: OutputQueryInput): Promise<OutputAnswer> {
  const result = await kernel.queryOutput('big', outputQuerySchema.parse(query));
  if (!result.ok) throw new Error(result.message);
  return result.answer;
}

test('the last page of a 2-million-row output comes from DuckDB quickly', async () => {
  const started = Date.now();
  const page = await ask({ kind: 'page', offset: 1_999_990, limit: 10 });
  assert.equal(page.kind, 'page');
  if (page.kind !== 'page') return;
  assert.equal(page.totalRowCount, 2_000_000);
  assert.equal(page.rows.length, 10);
  assert.equal(page.rows[9]?.id, 1_999_999);
  assert.deepEqual(page.columns.map((c) => c.type), ['BIGINT', 'INTEGER', 'VARCHAR', 'DATE']);
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});

test('sort and filter run in DuckDB and count the matching rows', async () => {
  const page = await ask({ kind: 'page', offset: 0, limit: 5, sort: { column: 'id', direction: 'desc' }, filters: [{ column: 'bucket', op: 'equals', value: '3' }] });
  if (page.kind !== 'page') throw new Error('not a page');
  assert.equal(page.rows[0]?.id, 1_999_994);
  assert.ok(page.rows.every((r) => r.bucket === 3));
  assert.equal(page.rowCount, 285_714);
  const text = await ask({ kind: 'page', offset: 0, limit: 5, filters: [{ column: 'label', op: 'contains', value: "e 12345'" }] });
  if (text.kind !== 'page') throw new Error('not a page');
  assert.equal(text.rowCount, 0);
});

test('charts aggregate in DuckDB', async () => {
  const bar = await ask({ kind: 'chart', chart: 'bar', x: 'bucket' });
  assert.equal(bar.kind === 'chart' ? bar.points.length : 0, 7);
  const hist = await ask({ kind: 'chart', chart: 'histogram', x: 'id', bins: 10 });
  if (hist.kind !== 'chart') throw new Error('not a chart');
  assert.equal(hist.points.length, 10);
  assert.equal(hist.points.reduce((a, p) => a + p.value, 0), 2_000_000);
  const line = await ask({ kind: 'chart', chart: 'line', x: 'day', y: 'id' });
  assert.equal(line.kind === 'chart' ? line.points.length : 0, 30);
});

test('bad questions are named, not crashes', async () => {
  const unknown = await kernel.queryOutput('big', outputQuerySchema.parse({ kind: 'page', offset: 0, limit: 5, sort: { column: 'nope', direction: 'asc' } }));
  assert.equal(unknown.ok, false);
  assert.match(unknown.ok ? '' : unknown.message, /no column "nope"/);
  const missing = await kernel.queryOutput('other', outputQuerySchema.parse({ kind: 'page', offset: 0, limit: 5 }));
  assert.match(missing.ok ? '' : missing.message, /block "other" has no output yet/);
  const hist = await kernel.queryOutput('big', outputQuerySchema.parse({ kind: 'chart', chart: 'histogram', x: 'label' }));
  assert.match(hist.ok ? '' : hist.message, /numeric or date/);
});
