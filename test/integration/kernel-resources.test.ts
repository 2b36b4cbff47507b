import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { runBlocks } from '../support/run-engine';
import { threadsFor } from '../../lib/kernel/thread-share';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import { writeProject } from '../support/write-project';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The most memory a process has held (VmHWM), in MB. */
function peakMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

test('outputs larger than the memory limit spill to disk: the kernel stays bounded and nothing is lost', async () => {
  const project = await writeProject('spill', {
    'pipelines/p/metadata.yaml': [
      'blocks:',
      '  - { uuid: wide, type: data_loader, language: sql, upstream_blocks: [] }',
      '  - { uuid: summary, type: transformer, language: sql, upstream_blocks: [wide] }',
      '',
    ].join('\n'),
    // ~400 MB of strings: 3M rows of 96 characters plus their ids, against a 64 MB limit.
    'data_loaders/wide.sql': 'SELECT i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) || md5((i + 2)::VARCHAR) AS s FROM range(3000000) t(i)\n',
    'transformers/summary.sql': [
      'SELECT count(*) AS n, min(length(s)) AS shortest, sum(i) AS ids,',
      '  (SELECT count(*) FROM duckdb_temporary_files()) AS spilled_files',
      'FROM {{ df_1 }}',
      '',
    ].join('\n'),
  });
  const kernel = new KernelHost({
    projectDir: project.dir,
    dataDir: dataDirOf(project.dir),
    pipelineUuid: 'p',
    cacheDir: null,
    envDefaults: { GRIMOIRE_DUCKDB_MEMORY: '64MB' },
  });
  cleanups.push(async () => {
    await kernel.close();
    await project.cleanup();
  });
  const { pipeline } = await loadPipeline(project.dir, 'p');
  const previews = new Map<string, Record<string, unknown>[]>();
  const run = await runBlocks({
    kernel,
    pipeline,
    scope: { kind: 'pipeline' },
    onEvent: (e) => {
      if (e.type === 'output') previews.set(e.block, e.preview.rows);
    },
  });
  assert.equal(run.status, 'completed', JSON.stringify([...run.blocks.values()].map((b) => b.error)));
  const [summary] = previews.get('summary') ?? [];
  assert.equal(summary?.n, 3_000_000);
  assert.equal(summary?.shortest, 96);
  assert.equal(summary?.ids, 3_000_000 * 2_999_999 / 2);
  assert.ok(Number(summary?.spilled_files) > 0, `DuckDB kept ${JSON.stringify(summary)} without spilling`);
  const pid = kernel.pid ?? 0;
  const spill = path.join(dataDirOf(project.dir), 'tmp', `duckdb-${pid}`);
  assert.ok(existsSync(spill), `the spill folder ${spill} is in the project's data directory`);
  // Held in memory, the strings alone would be ~400 MB; bounded, the kernel is Node plus 64 MB.
  const peak = peakMb(pid);
  assert.ok(peak < 300, `the kernel peaked at ${peak.toFixed(0)} MB`);
  await kernel.close();
  assert.equal(existsSync(spill), false, 'the spill folder is removed when the kernel exits');
});

test('blocks running at once share the cores: DuckDB gives up a thread for each block beyond the first', async () => {
  // The two blocks meet, read DuckDB's setting while both are running, and meet again.
  const meetThenRead = (me: string, other: string) => `import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
async function meet(ctx: BlockContext, step: string) {
  writeFileSync(path.join(ctx.dataDir, '${me}.' + step), '');
  const deadline = Date.now() + 20_000;
  while (!existsSync(path.join(ctx.dataDir, '${other}.' + step))) {
    if (Date.now() > deadline) throw new Error('${other} never ran alongside ${me}');
    await new Promise((r) => setTimeout(r, 20));
  }
}
export default async function ${me}(ctx: BlockContext) {
  await meet(ctx, 'started');
  const rows = await (await ctx.query("SELECT current_setting('threads')::INTEGER AS threads")).rows();
  // Neither finishes (and gives its thread back) before both have read the setting.
  await meet(ctx, 'read');
  return ctx.fromRows(rows);
}
`;
  const project = await writeProject('threads', {
    'pipelines/p/metadata.yaml': [
      'blocks:',
      '  - { uuid: left, type: data_loader, language: typescript, upstream_blocks: [] }',
      '  - { uuid: right, type: data_loader, language: typescript, upstream_blocks: [] }',
      '  - { uuid: after, type: transformer, language: sql, upstream_blocks: [left, right] }',
      '',
    ].join('\n'),
    'data_loaders/left.ts': meetThenRead('left', 'right'),
    'data_loaders/right.ts': meetThenRead('right', 'left'),
    'transformers/after.sql': "SELECT current_setting('threads')::INTEGER AS threads\n",
  });
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', cacheDir: null });
  cleanups.push(async () => {
    await kernel.close();
    await project.cleanup();
  });
  const { pipeline } = await loadPipeline(project.dir, 'p');
  const threads = new Map<string, unknown>();
  const run = await runBlocks({
    kernel,
    pipeline,
    scope: { kind: 'pipeline' },
    onEvent: (e) => {
      if (e.type === 'output') threads.set(e.block, e.preview.rows[0]?.threads);
    },
  });
  assert.equal(run.status, 'completed', JSON.stringify([...run.blocks.values()].map((b) => b.error)));
  // Alone, a block has every core; the machine decides how many that is.
  const cores = Number(threads.get('after'));
  assert.ok(cores >= 1, `after saw ${String(threads.get('after'))} threads`);
  assert.equal(threads.get('left'), threadsFor(cores, 2));
  assert.equal(threads.get('right'), threadsFor(cores, 2));
});
