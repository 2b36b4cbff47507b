/**
 * The editor's edits for the block kinds against real files: sensors, markdown and scratchpads
 * added, changed and refused where they would break the pipeline; block settings for fan-out and
 * sensors; conditionals and callbacks listed in metadata.yaml with their files, read and saved
 * through the same guarded file API as blocks.
 */
import assert from 'node:assert/strict';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { BLOCK_TEMPLATES } from '../../lib/pipeline/block-templates';
import { listAddOnFiles, listBlockFiles, readAddOnFile, saveAddOnFile } from '../../lib/project/block-files';
import { applyEditorEdits, readEditorPipeline } from '../../lib/project/pipeline-write';
import { editorEditSchema, type EditorEditInput } from '../../lib/protocol/editor-api';
import { MISSING_VERSION } from '../../lib/project/versions';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;

before(async () => {
  project = await writeProject('kinds', {
    'pipelines/p/metadata.yaml': '# kinds\nblocks:\n  - { uuid: load, type: data_loader, language: typescript }\n  - { uuid: clean, type: transformer, language: sql, upstream_blocks: [load] }\n',
    'data_loaders/load.ts': 'export default async function load() {\n  return [{ n: 1 }];\n}\n',
    'transformers/clean.sql': 'SELECT * FROM {{ df_1 }}\n',
    // Not block files: the wrong language for their folder.
    'markdowns/stray.ts': 'export {};\n',
    'sensors/stray.md': '# no\n',
  });
});
after(async () => project?.cleanup());

const edit = async (...edits: EditorEditInput[]) => {
  const { version } = await readEditorPipeline(project.dir, 'kinds', 'p');
  return applyEditorEdits(project.dir, 'kinds', 'p', version, edits.map((e) => editorEditSchema.parse(e)));
};
const metadata = async () => z.looseObject({ blocks: z.array(z.record(z.string(), z.unknown())), conditionals: z.array(z.record(z.string(), z.unknown())).optional(), callbacks: z.array(z.record(z.string(), z.unknown())).optional() }).parse(parse(await readFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'utf8')));
const entry = async (uuid: string) => (await metadata()).blocks.find((b) => b.uuid === uuid);

test('markdown, scratchpad and sensor blocks are added as empty files; a language the kind is not written in is refused', async () => {
  const view = await edit(
    { kind: 'add_block', uuid: 'notes', type: 'markdown', language: 'markdown', source: { blank: true } },
    { kind: 'add_block', uuid: 'try_it', type: 'scratchpad', language: 'sql', upstream: ['clean'], source: { blank: true } },
    { kind: 'add_block', uuid: 'wait_for', type: 'sensor', language: 'typescript', source: { blank: true } },
  );
  assert.deepEqual(view.blocks.map((b) => [b.uuid, b.type, b.file]), [
    ['load', 'data_loader', 'data_loaders/load.ts'],
    ['clean', 'transformer', 'transformers/clean.sql'],
    ['notes', 'markdown', 'markdowns/notes.md'],
    ['try_it', 'scratchpad', 'scratchpads/try_it.sql'],
    ['wait_for', 'sensor', 'sensors/wait_for.ts'],
  ]);
  assert.deepEqual(view.issues, []);
  assert.equal(await readFile(path.join(project.dir, 'markdowns/notes.md'), 'utf8'), '');
  await assert.rejects(edit({ kind: 'add_block', uuid: 'bad', type: 'markdown', language: 'sql', source: { blank: true } }), /a markdown block is written in markdown, not sql/);
  await assert.rejects(edit({ kind: 'add_block', uuid: 'bad', type: 'transformer', language: 'markdown', source: { blank: true } }), /a transformer block is written in typescript or sql, not markdown/);
  await assert.rejects(edit({ kind: 'add_block', uuid: 'try_it', type: 'scratchpad', language: 'sql', source: { blank: true } }), /already in this pipeline/);
  // The file browser lists the new kinds' files, and not files in the wrong language for their folder.
  const listed = (await listBlockFiles(project.dir)).map((f) => f.path);
  assert.ok(listed.includes('markdowns/notes.md') && listed.includes('scratchpads/try_it.sql') && listed.includes('sensors/wait_for.ts'));
  assert.ok(!listed.includes('markdowns/stray.ts') && !listed.includes('sensors/stray.md'), listed.join(', '));
});

test('no block may depend on a markdown block or a scratchpad (pipeline runs skip them)', async () => {
  await assert.rejects(edit({ kind: 'add_edge', from: 'notes', to: 'clean' }), /"notes" is a markdown block, which pipeline runs skip: clean cannot depend on it/);
  await assert.rejects(edit({ kind: 'set_upstream', uuid: 'clean', upstream: ['load', 'try_it'] }), /"try_it" is a scratchpad block/);
  await assert.rejects(edit({ kind: 'add_block', uuid: 'after_note', type: 'transformer', language: 'sql', upstream: ['notes'], source: { blank: true } }), /"notes" is a markdown block/);
  // A block with downstream blocks cannot become one either; its file stays where it was.
  await assert.rejects(edit({ kind: 'change_block_kind', uuid: 'load', type: 'scratchpad', language: 'typescript' }), /clean depends on load, and pipeline runs skip a scratchpad block/);
  await access(path.join(project.dir, 'data_loaders/load.ts'));
});

test('changing kind to and from markdown moves the file to its folder and extension, code unchanged', async () => {
  await writeFile(path.join(project.dir, 'scratchpads/try_it.sql'), 'SELECT 42 AS answer\n');
  await assert.rejects(edit({ kind: 'change_block_kind', uuid: 'try_it', type: 'markdown', language: 'sql' }), /a markdown block is written in markdown, not sql/);
  let view = await edit({ kind: 'set_upstream', uuid: 'try_it', upstream: [] }, { kind: 'change_block_kind', uuid: 'try_it', type: 'markdown', language: 'markdown' });
  assert.equal(view.blocks.find((b) => b.uuid === 'try_it')?.file, 'markdowns/try_it.md');
  assert.equal(await readFile(path.join(project.dir, 'markdowns/try_it.md'), 'utf8'), 'SELECT 42 AS answer\n');
  view = await edit({ kind: 'change_block_kind', uuid: 'try_it', type: 'scratchpad', language: 'sql' });
  assert.equal(view.blocks.find((b) => b.uuid === 'try_it')?.file, 'scratchpads/try_it.sql');
  // Renaming a note does not rewrite its prose (a word that is the old name stays).
  await writeFile(path.join(project.dir, 'markdowns/notes.md'), '# notes\n\nThe notes: load, then clean.\n');
  await edit({ kind: 'rename_block', uuid: 'notes', to: 'readme' });
  assert.equal(await readFile(path.join(project.dir, 'markdowns/readme.md'), 'utf8'), '# notes\n\nThe notes: load, then clean.\n');
});

test('a template that needs configuration (a dynamic loader) gets it in the new entry', async () => {
  const template = BLOCK_TEMPLATES.find((x) => x.configuration && Object.keys(x.configuration).length > 0);
  assert.ok(template, 'no block template carries configuration (the dynamic loader did)');
  const view = await edit({ kind: 'add_block', uuid: 'from_template', type: template.type, language: template.language, source: { template: template.id } });
  assert.deepEqual(view.blocks.find((b) => b.uuid === 'from_template')?.configuration, template.configuration);
  assert.deepEqual((await entry('from_template'))?.configuration, template.configuration);
  await edit({ kind: 'remove_block', uuid: 'from_template' });
});

test('block settings write configuration.dynamic, reduce_output, and a sensor\'s poke_interval and timeout', async () => {
  await edit({ kind: 'set_block_settings', uuid: 'load', retry_config: null, timeout: null, destination: null, dynamic: true });
  await edit({ kind: 'set_block_settings', uuid: 'clean', retry_config: null, timeout: null, destination: null, reduce_output: true });
  await edit({ kind: 'set_block_settings', uuid: 'wait_for', retry_config: null, timeout: null, destination: null, poke_interval: 5, sensor_timeout: 600 });
  assert.deepEqual((await entry('load'))?.configuration, { dynamic: true });
  assert.deepEqual((await entry('clean'))?.configuration, { reduce_output: true });
  assert.deepEqual((await entry('wait_for'))?.configuration, { poke_interval: 5, timeout: 600 });
  const view = await readEditorPipeline(project.dir, 'kinds', 'p');
  assert.equal(view.blocks.find((b) => b.uuid === 'load')?.configuration.dynamic, true);
  // false and null remove the keys (Mage's defaults); a settings save without them leaves them be.
  await edit({ kind: 'set_block_settings', uuid: 'wait_for', retry_config: null, timeout: 30, destination: null, poke_interval: null });
  assert.deepEqual((await entry('wait_for'))?.configuration, { timeout: 600 });
  assert.equal((await entry('wait_for'))?.timeout, 30);
  assert.throws(() => editorEditSchema.parse({ kind: 'set_block_settings', uuid: 'wait_for', retry_config: null, timeout: null, destination: null, poke_interval: 0 }), /poke_interval must be a positive number of seconds/);
});

test('a conditional and a callback: listed in metadata.yaml with their files from templates, shown to the editor with no problem', async () => {
  const view = await edit(
    { kind: 'add_add_on', addOn: 'conditional', uuid: 'only_flag', upstream: ['clean'], source: { template: 'conditional_generic' } },
    { kind: 'add_add_on', addOn: 'callback', uuid: 'notify', upstream: ['load', 'clean'], source: { template: 'callback_generic' } },
  );
  assert.deepEqual(view.conditionals, [{ uuid: 'only_flag', kind: 'conditional', upstream: ['clean'], file: 'conditionals/only_flag.ts' }]);
  assert.deepEqual(view.callbacks, [{ uuid: 'notify', kind: 'callback', upstream: ['load', 'clean'], file: 'callbacks/notify.ts' }]);
  assert.deepEqual(view.issues, []);
  assert.match(await readFile(path.join(project.dir, 'conditionals/only_flag.ts'), 'utf8'), /export default async function only_flag/);
  assert.match(await readFile(path.join(project.dir, 'callbacks/notify.ts'), 'utf8'), /export async function onFailure/);
  const yaml = await metadata();
  assert.deepEqual(yaml.conditionals, [{ uuid: 'only_flag', language: 'typescript', upstream_blocks: ['clean'], configuration: {} }]);
  await assert.rejects(edit({ kind: 'add_add_on', addOn: 'callback', uuid: 'notify', upstream: ['load'], source: { template: 'callback_generic' } }), /a callback named "notify" is already in this pipeline/);
  await assert.rejects(edit({ kind: 'add_add_on', addOn: 'callback', uuid: 'other', upstream: ['load'], source: { template: 'conditional_generic' } }), /template "conditional_generic" is for a conditional/);
  await assert.rejects(edit({ kind: 'add_add_on', addOn: 'conditional', uuid: 'ghost', upstream: ['nope'], source: { template: 'conditional_generic' } }), /block "nope" is not in this pipeline/);
  assert.throws(() => editorEditSchema.parse({ kind: 'add_add_on', addOn: 'conditional', uuid: 'x', upstream: [], source: { template: 'conditional_generic' } }), /attach it to at least one block/);
});

test('add-on code is read and saved through the file API, only for add-ons the pipeline lists, over the version loaded', async () => {
  const loaded = await readAddOnFile(project.dir, 'p', 'conditional', 'only_flag');
  assert.equal(loaded.file, 'conditionals/only_flag.ts');
  const saved = await saveAddOnFile(project.dir, 'p', 'conditional', 'only_flag', 'export default async function only_flag() {\n  return false;\n}\n', loaded.version);
  assert.notEqual(saved.version, loaded.version);
  await assert.rejects(saveAddOnFile(project.dir, 'p', 'conditional', 'only_flag', 'x', loaded.version), /changed since it was loaded/);
  // Listed as a callback, not a conditional; and an unlisted name reads nothing, even when its file exists.
  await assert.rejects(readAddOnFile(project.dir, 'p', 'conditional', 'notify'), /conditional "notify" is not in pipeline p/);
  await writeFile(path.join(project.dir, 'conditionals/unlisted.ts'), 'secret\n');
  await assert.rejects(readAddOnFile(project.dir, 'p', 'conditional', 'unlisted'), /not in pipeline p/);
  await assert.rejects(saveAddOnFile(project.dir, 'p', 'conditional', '../pipelines/p/metadata', 'x', MISSING_VERSION), /not in pipeline p/);
});

test('attachments change, follow a renamed block, go with a removed one (which shows as a problem), and a removed add-on keeps its file', async () => {
  let view = await edit({ kind: 'set_add_on_upstream', addOn: 'callback', uuid: 'notify', upstream: ['clean'] });
  assert.deepEqual(view.callbacks[0]?.upstream, ['clean']);
  view = await edit({ kind: 'rename_block', uuid: 'clean', to: 'clean_rows' });
  assert.deepEqual(view.conditionals[0]?.upstream, ['clean_rows']);
  assert.deepEqual(view.callbacks[0]?.upstream, ['clean_rows']);
  view = await edit({ kind: 'remove_block', uuid: 'clean_rows' });
  assert.deepEqual(view.callbacks[0]?.upstream, []);
  assert.ok(view.issues.some((i) => i.block === 'notify' && /the callback is attached to no block/.test(i.message)), JSON.stringify(view.issues));
  view = await edit({ kind: 'remove_add_on', addOn: 'callback', uuid: 'notify' }, { kind: 'remove_add_on', addOn: 'conditional', uuid: 'only_flag' });
  assert.deepEqual([view.conditionals, view.callbacks], [[], []]);
  await access(path.join(project.dir, 'callbacks/notify.ts'));
  // Listed again from its file, with its code as it was.
  assert.deepEqual((await listAddOnFiles(project.dir)).map((f) => f.path), ['conditionals/only_flag.ts', 'conditionals/unlisted.ts', 'callbacks/notify.ts']);
  view = await edit({ kind: 'add_add_on', addOn: 'conditional', uuid: 'only_flag', upstream: ['load'], source: { existing: true } });
  assert.match((await readAddOnFile(project.dir, 'p', 'conditional', 'only_flag')).content, /return false/);
  await assert.rejects(edit({ kind: 'add_add_on', addOn: 'callback', uuid: 'only_flag', upstream: ['load'], source: { existing: true } }), /there is no callback file callbacks\/only_flag\.ts/);
});

test('a missing add-on file is a problem the editor shows, naming the file', async () => {
  await edit({ kind: 'add_add_on', addOn: 'callback', uuid: 'gone', upstream: ['load'], source: { template: 'callback_generic' } });
  await rm(path.join(project.dir, 'callbacks/gone.ts'));
  const view = await readEditorPipeline(project.dir, 'kinds', 'p');
  assert.ok(view.issues.some((i) => i.message === 'callback file callbacks/gone.ts is missing'), JSON.stringify(view.issues));
  // A stale version is a conflict for add-on edits as for blocks'.
  await assert.rejects(applyEditorEdits(project.dir, 'kinds', 'p', 'stale', [editorEditSchema.parse({ kind: 'remove_add_on', addOn: 'callback', uuid: 'gone' })]), (e: Error & { code?: string }) => e.code === 'conflict');
});
