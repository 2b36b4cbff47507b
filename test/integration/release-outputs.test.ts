import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { runBlocks } from '../support/run-engine';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import { writeProject } from '../support/write-project';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function chain(): Promise<{ kernel: KernelHost; pipeline: Awaited<ReturnType<typeof loadPipeline>>['pipeline'] }> {
  const project = await writeProject('release', {
    'pipelines/p/metadata.yaml': [
      'blocks:',
      '  - { uuid: load, type: data_loader, language: sql, upstream_blocks: [] }',
      '  - { uuid: clean, type: transformer, language: sql, upstream_blocks: [load] }',
      '  - { uuid: export, type: data_exporter, language: sql, upstream_blocks: [clean] }',
      '',
    ].join('\n'),
    'data_loaders/load.sql': 'SELECT range AS id FROM range(100000)\n',
    'transformers/clean.sql': 'SELECT id FROM {{ df_1 }} WHERE id % 2 = 0\n',
    'data_exporters/export.sql': 'SELECT count(*) AS n FROM {{ df_1 }}\n',
  });
  // As `grimoire run` has it: no Parquet copies, outputs live in the kernel only.
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', cacheDir: null });
  cleanups.push(async () => {
    await kernel.close();
    await project.cleanup();
  });
  return { kernel, pipeline: (await loadPipeline(project.dir, 'p')).pipeline };
}

async function hasOutput(kernel: KernelHost, block: string): Promise<boolean> {
  return (await kernel.queryOutput(block, { kind: 'page', offset: 0, limit: 1, filters: [] })).ok;
}

test('a one-shot run drops an output once every block reading it has finished; the rest stay', async () => {
  const { kernel, pipeline } = await chain();
  const run = await runBlocks({ kernel, pipeline, scope: { kind: 'pipeline' }, releaseOutputs: true });
  assert.equal(run.status, 'completed');
  assert.equal(run.blocks.get('export')?.rowCount, 1);
  // load was read by clean only; clean's reader finished last, when nothing was left to run.
  assert.equal(await hasOutput(kernel, 'load'), false);
  assert.equal(await hasOutput(kernel, 'clean'), true);
  assert.equal(await hasOutput(kernel, 'export'), true);
});

test('without releaseOutputs (the editor) every output stays to be paged and re-read', async () => {
  const { kernel, pipeline } = await chain();
  const run = await runBlocks({ kernel, pipeline, scope: { kind: 'pipeline' } });
  assert.equal(run.status, 'completed');
  for (const block of ['load', 'clean', 'export']) assert.equal(await hasOutput(kernel, block), true, block);
});
