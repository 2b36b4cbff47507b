import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { runBlocks, type RunResult } from '../support/run-engine';
import { type OutputPreview } from '../../lib/protocol/run-events';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;
let kernel: KernelHost;

const block = (uuid: string, type: string, language: string, upstream: string[] = []) =>
  `  - uuid: ${uuid}\n    type: ${type}\n    language: ${language}\n    upstream_blocks: [${upstream.join(', ')}]\n`;

before(async () => {
  project = await writeProject('results', {
    'pipelines/p/metadata.yaml': `blocks:\n${[
      block('ints', 'data_loader', 'sql'),
      block('nothing', 'data_exporter', 'typescript', ['ints']),
      block('frame', 'transformer', 'typescript', ['ints']),
      block('typed_rows', 'data_loader', 'typescript'),
      block('bad_return', 'data_loader', 'typescript'),
      block('no_default', 'data_loader', 'typescript'),
      block('uses_utils', 'data_loader', 'typescript'),
      block('scratch', 'transformer', 'typescript', ['ints']),
      `  - uuid: to_lake\n    type: data_exporter\n    language: sql\n    upstream_blocks: [ints]\n    configuration:\n      destination: { type: parquet, path: lake/ints, partition_by: [no_such_column] }\n`,
    ].join('')}`,
    'data_exporters/to_lake.sql': 'SELECT * FROM {{ df_1 }}\n',
    'data_loaders/ints.sql': 'SELECT range::BIGINT AS id, (range * 1.5)::DOUBLE AS x FROM range(3)',
    'data_exporters/nothing.ts': 'export default async function nothing(df: DataFrame) {\n  console.log(`exported ${df.rowCount}`);\n}\n',
    'transformers/frame.ts': 'export default async function frame(df: DataFrame) {\n  return df;\n}\n',
    'data_loaders/typed_rows.ts': `export default function typed_rows() {
  return [
    { n: 1, big: 2n ** 40n, f: 1.5, ok: true, at: new Date('2020-10-01T05:00:00Z'), tags: { a: [1, 2] }, s: 'x' },
    { n: 2, big: 3n, f: 2, ok: false, at: new Date('2020-10-02T06:30:00Z'), tags: null, s: null },
  ];
}
`,
    'data_loaders/bad_return.ts': "export default function bad_return() {\n  return 'rows';\n}\n",
    'data_loaders/no_default.ts': 'export function load() {\n  return [];\n}\n',
    'utils/numbers.ts': 'export const answer = (): number => 42;\n',
    'data_loaders/uses_utils.ts': "import { answer } from '../utils/numbers';\n\nexport default function uses_utils() {\n  return [{ answer: answer() }];\n}\n",
    'transformers/scratch.ts': `export default async function scratch(df: DataFrame, ctx: BlockContext) {
  const extra = await ctx.fromRows([{ id: 10, x: 0.5 }]);
  const both = await ctx.query(\`SELECT * FROM \${df} UNION ALL SELECT * FROM \${extra}\`);
  const rows = await both.rows();
  return ctx.sql\`SELECT count(*) AS n, \${rows.length} AS seen FROM \${both}\`;
}
`,
  });
  kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p' });
});

after(async () => {
  await kernel?.close();
  await project?.cleanup();
});

async function run(blocks: string): Promise<{ result: RunResult; previews: Map<string, OutputPreview> }> {
  const { pipeline } = await loadPipeline(project.dir, 'p');
  const previews = new Map<string, OutputPreview>();
  const result = await runBlocks({
    kernel,
    pipeline,
    scope: { kind: 'with_upstream', block: blocks },
    onEvent: (e) => {
      if (e.type === 'output') previews.set(e.block, e.preview);
    },
  });
  return { result, previews };
}

test('preview rows carry 64-bit integers as numbers, and a block may return its input frame', async () => {
  const { result, previews } = await run('frame');
  assert.equal(result.status, 'completed');
  assert.deepEqual(previews.get('ints')?.rows, [
    { id: 0, x: 0 },
    { id: 1, x: 1.5 },
    { id: 2, x: 3 },
  ]);
  assert.deepEqual(previews.get('frame')?.columns, [
    { name: 'id', type: 'BIGINT' },
    { name: 'x', type: 'DOUBLE' },
  ]);
});

test('an exporter that returns nothing has no columns and no rows', async () => {
  const { result, previews } = await run('nothing');
  assert.equal(result.blocks.get('nothing')?.status, 'completed');
  assert.deepEqual(previews.get('nothing'), { columns: [], rows: [], rowCount: 0 });
});

test('returned objects get column types from every row: integers, bigints, floats, booleans, dates, JSON', async () => {
  const { result, previews } = await run('typed_rows');
  assert.equal(result.status, 'completed');
  const preview = previews.get('typed_rows');
  assert.deepEqual(preview?.columns, [
    { name: 'n', type: 'BIGINT' },
    { name: 'big', type: 'BIGINT' },
    { name: 'f', type: 'DOUBLE' },
    { name: 'ok', type: 'BOOLEAN' },
    { name: 'at', type: 'TIMESTAMP' },
    { name: 'tags', type: 'VARCHAR' },
    { name: 's', type: 'VARCHAR' },
  ]);
  assert.equal(preview?.rows[0]?.big, 2 ** 40);
  assert.equal(preview?.rows[0]?.tags, '{"a":[1,2]}');
  assert.equal(preview?.rows[1]?.s, null);
  assert.match(String(preview?.rows[1]?.at), /^2020-10-02 06:30:00/);
});

test('a block returning something that is not rows, or without a default export, fails with a clear message', async () => {
  const bad = await run('bad_return');
  const error = bad.result.blocks.get('bad_return')?.error;
  assert.equal(error?.kind, 'invalid_block');
  assert.match(error?.message ?? '', /returned string; return an array of objects, a DataFrame/);
  const none = await run('no_default');
  assert.match(none.result.blocks.get('no_default')?.error?.message ?? '', /must have a default export that is a function/);
});

test('blocks import relative files of the project, and ctx.fromRows/ctx.query/ctx.sql work together', async () => {
  const utils = await run('uses_utils');
  assert.equal(utils.result.status, 'completed');
  assert.deepEqual(utils.previews.get('uses_utils')?.rows, [{ answer: 42 }]);
  // The build is reused while nothing it was made from changed; an edit of the imported file counts.
  assert.deepEqual((await run('uses_utils')).previews.get('uses_utils')?.rows, [{ answer: 42 }]);
  await writeFile(path.join(project.dir, 'utils', 'numbers.ts'), 'export const answer = (): number => 43;\n');
  assert.deepEqual((await run('uses_utils')).previews.get('uses_utils')?.rows, [{ answer: 43 }]);
  const scratch = await run('scratch');
  assert.equal(scratch.result.status, 'completed', JSON.stringify(scratch.result.blocks.get('scratch')?.error));
  assert.deepEqual(scratch.previews.get('scratch')?.rows, [{ n: 4, seen: 4 }]);
});

test("a destination that fails is the destination's error, not a line of the block's code", async () => {
  const { result } = await run('to_lake');
  const error = result.blocks.get('to_lake')?.error;
  assert.equal(error?.kind, 'destination');
  assert.match(error?.message ?? '', /^the block ran, but its destination \(parquet lake\/ints\) failed: .*no_such_column/);
  assert.equal(error?.line, undefined);
  assert.equal(error?.file, undefined);
});
