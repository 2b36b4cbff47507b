import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readBlockFile, saveBlockFile } from '../../lib/project/block-files';
import { clonePipeline, createPipeline, deletePipeline, renamePipeline } from '../../lib/project/pipeline-crud';
import { applyEditorEdits, readEditorPipeline } from '../../lib/project/pipeline-write';
import { listPipelines } from '../../lib/project/load';
import { editorEditSchema, type EditorEditInput } from '../../lib/protocol/editor-api';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;

before(async () => {
  project = await writeProject('ed', { 'pipelines/p/metadata.yaml': '# my pipeline\nname: p\nuuid: p\nblocks: []  # none yet\nowner: me\n' });
});
after(async () => project?.cleanup());

const edit = async (...edits: EditorEditInput[]) => {
  const { version } = await readEditorPipeline(project.dir, 'ed', 'p');
  return applyEditorEdits(project.dir, 'ed', 'p', version, edits.map((e) => editorEditSchema.parse(e)));
};

test('blocks added from templates get files; edges and a cycle refusal; comments and unknown keys kept', async () => {
  const view = await edit(
    { kind: 'add_block', uuid: 'load', type: 'data_loader', language: 'sql', source: { template: 'loader_generic_sql' } },
    { kind: 'add_block', uuid: 'clean', type: 'transformer', language: 'typescript', upstream: ['load'], source: { template: 'transformer_generic_ts' } },
    { kind: 'add_block', uuid: 'out', type: 'data_exporter', language: 'sql', source: { template: 'exporter_generic_sql' } },
    { kind: 'add_edge', from: 'clean', to: 'out' },
  );
  assert.deepEqual(view.blocks.map((b) => [b.uuid, b.upstream]), [['load', []], ['clean', ['load']], ['out', ['clean']]]);
  assert.deepEqual(view.issues, []);
  assert.match(await readFile(path.join(project.dir, 'transformers/clean.ts'), 'utf8'), /function clean\(load: DataFrame<'load'>, ctx: BlockContext\)/);
  const yaml = await readFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'utf8');
  assert.match(yaml, /^# my pipeline/);
  assert.match(yaml, /owner: me/);
  await assert.rejects(edit({ kind: 'add_edge', from: 'out', to: 'load' }), /cycle: load -> clean -> out -> load/);
});

test('a stale version is a conflict and changes nothing', async () => {
  const before = await readFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'utf8');
  await assert.rejects(
    applyEditorEdits(project.dir, 'ed', 'p', 'stale', [editorEditSchema.parse({ kind: 'remove_block', uuid: 'out' })]),
    (e: Error & { code?: string }) => e.code === 'conflict',
  );
  assert.equal(await readFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'utf8'), before);
});

test('rename moves the file and updates the references of downstream code', async () => {
  const view = await edit({ kind: 'rename_block', uuid: 'load', to: 'load_trips' });
  assert.deepEqual(view.blocks.map((b) => b.uuid), ['load_trips', 'clean', 'out']);
  assert.deepEqual(view.blocks[1]?.upstream, ['load_trips']);
  const clean = await readFile(path.join(project.dir, 'transformers/clean.ts'), 'utf8');
  assert.match(clean, /function clean\(load_trips: DataFrame<'load_trips'>/);
  assert.match(clean, /\$\{load_trips\}/);
  await readFile(path.join(project.dir, 'data_loaders/load_trips.sql'), 'utf8');
});

test('block saves are refused over a version that changed', async () => {
  const loaded = await readBlockFile(project.dir, 'p', 'out');
  const saved = await saveBlockFile(project.dir, 'p', 'out', 'SELECT 1 AS one;\n', loaded.version);
  assert.notEqual(saved.version, loaded.version);
  await assert.rejects(saveBlockFile(project.dir, 'p', 'out', 'SELECT 2;\n', loaded.version), /changed since it was loaded/);
  assert.equal((await readBlockFile(project.dir, 'p', 'out')).content, 'SELECT 1 AS one;\n');
  // Two tabs sharing a draft save the same text over the same old version: the second agrees, not conflicts.
  const again = await saveBlockFile(project.dir, 'p', 'out', 'SELECT 1 AS one;\n', loaded.version);
  assert.equal(again.version, saved.version);
});

test('variables are added, changed and removed in metadata.yaml, keeping its comments', async () => {
  await edit({ kind: 'set_variable', name: 'base_url', value: 'http://x' }, { kind: 'set_variable', name: 'months', value: ['2020-10'] });
  let view = await edit({ kind: 'set_variable', name: 'base_url', value: 'http://y' });
  assert.deepEqual(view.variables, { base_url: 'http://y', months: ['2020-10'] });
  view = await edit({ kind: 'remove_variable', name: 'months' });
  assert.deepEqual(view.variables, { base_url: 'http://y' });
  await assert.rejects(edit({ kind: 'remove_variable', name: 'nope' }), /variable "nope" is not in this pipeline/);
  const yaml = await readFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'utf8');
  assert.match(yaml, /^# my pipeline/);
  assert.match(yaml, /variables:\n\s+base_url: http:\/\/y/);
});

test('block settings: retry_config, timeout and destination are saved; a bad destination is refused naming the field', async () => {
  const settings = { kind: 'set_block_settings', uuid: 'out', retry_config: { retries: 2, delay: 1 }, timeout: 30, destination: { type: 'postgres', schema: 'mage', table: 'trips' } } as const;
  let view = await edit(settings);
  const out = view.blocks.find((b) => b.uuid === 'out');
  assert.deepEqual([out?.retry_config, out?.timeout, out?.configuration.destination], [{ retries: 2, delay: 1 }, 30, { type: 'postgres', schema: 'mage', table: 'trips' }]);
  await assert.rejects(edit({ ...settings, destination: { type: 'postgres', schema: 'mage' } }), /out: configuration\.destination: table: /);
  await assert.rejects(edit({ ...settings, destination: { type: 'bigquery' } }), /configuration\.destination: type/);
  assert.throws(() => editorEditSchema.parse({ ...settings, timeout: -1 }), /timeout must be a positive number of seconds/);
  // Clearing removes the keys, and an emptied configuration stays as {}.
  view = await edit({ ...settings, retry_config: null, timeout: null, destination: null });
  const cleared = view.blocks.find((b) => b.uuid === 'out');
  assert.deepEqual([cleared?.retry_config, cleared?.timeout, cleared?.configuration], [null, null, {}]);
  assert.doesNotMatch(await readFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'utf8'), /retry_config|timeout|destination/);
});

test('a new type or language moves the block file; a block other pipelines use keeps its kind', async () => {
  const view = await edit({ kind: 'change_block_kind', uuid: 'out', type: 'transformer', language: 'sql' });
  assert.deepEqual(view.blocks.find((b) => b.uuid === 'out')?.file, 'transformers/out.sql');
  assert.equal(await readFile(path.join(project.dir, 'transformers/out.sql'), 'utf8'), 'SELECT 1 AS one;\n');
  await edit({ kind: 'change_block_kind', uuid: 'out', type: 'data_exporter', language: 'sql' });
  await clonePipeline(project.dir, 'p', 'shares');
  await assert.rejects(edit({ kind: 'change_block_kind', uuid: 'out', type: 'transformer', language: 'sql' }), /also used by pipeline shares/);
  await deletePipeline(project.dir, 'shares');
});

test('pipelines are created, cloned, renamed and deleted', async () => {
  await createPipeline(project.dir, 'fresh');
  await clonePipeline(project.dir, 'p', 'copy');
  await assert.rejects(createPipeline(project.dir, 'copy'), /already exists/);
  await renamePipeline(project.dir, 'copy', 'renamed');
  assert.match(await readFile(path.join(project.dir, 'pipelines/renamed/metadata.yaml'), 'utf8'), /uuid: renamed[\s\S]*owner: me/);
  await deletePipeline(project.dir, 'fresh');
  assert.deepEqual(await listPipelines(project.dir), ['p', 'renamed']);
  assert.equal((await readEditorPipeline(project.dir, 'ed', 'renamed')).blocks.length, 3);
});
