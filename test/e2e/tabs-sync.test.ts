/**
 * Two tabs on one pipeline: structure edits in one show in the other at once (notebook and
 * graph), saved text follows into a tab with nothing unsaved, runs show in both, a conflicting
 * save gets the conflict dialog, and unsaved text survives a rename or removal made elsewhere.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../lib/server/start';
import { launchBrowser, newWidePage, signInWithLink } from '../support/browser';
import { addBlock, block, clickEdge, edge, typeCode } from '../support/notebook-page';
import { writeProject } from '../support/write-project';

let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let project: Awaited<ReturnType<typeof writeProject>>;
let one: Page;
let two: Page;

const EDITOR = '/projects/sync/pipelines/p';
const projectFile = (rel: string) => readFile(path.join(project.dir, rel), 'utf8');

before(async () => {
  project = await writeProject('sync', {
    'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: source, type: data_loader, language: sql }\n  - { uuid: shape, type: transformer, language: sql, upstream_blocks: [source] }\n',
    'data_loaders/source.sql': 'SELECT range AS n FROM range(5)\n',
    'transformers/shape.sql': 'SELECT n * 2 AS twice FROM {{ df_1 }}\n',
  });
  server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: project.root, dev: false });
  browser = await launchBrowser();
  one = await newWidePage(browser.context);
  two = await newWidePage(browser.context);
  await signInWithLink(one, server);
  for (const p of [one, two]) {
    await p.goto(`${server.url}${EDITOR}`);
    await p.getByTestId('editor-shape').locator('.monaco-editor').waitFor();
    await p.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor();
  }
});

after(async () => {
  await browser?.close();
  await server?.close();
  await project?.cleanup();
});

test('a block added in one tab shows in the other, in the notebook and the graph', async () => {
  await one.bringToFront();
  await block(one, 'shape').locator('header .name').click();
  await addBlock(one, { type: 'Data exporter', language: 'SQL', template: 'Generic (SQL)', name: 'sink' });
  await block(two, 'sink').waitFor();
  await edge(two, 'shape', 'sink').waitFor({ state: 'attached' });
  await two.getByTestId('editor-sink').locator('.view-lines').filter({ hasText: 'exported' }).waitFor();
  assert.equal(await two.locator('section[data-block]').count(), 3);
});

test('an edge deleted in the graph of one tab leaves the other tab too', async () => {
  await two.bringToFront();
  await clickEdge(two, 'shape', 'sink');
  await two.getByRole('button', { name: 'Delete edge' }).click();
  await edge(one, 'shape', 'sink').waitFor({ state: 'detached' });
  assert.match((await block(one, 'sink').locator('header .meta').textContent()) ?? '', /^Data exporter · SQL$/);
});

test('saved text follows into a tab with nothing unsaved; a run in one tab shows in the other', async () => {
  await typeCode(one, 'source', 'SELECT range AS n FROM range(7)');
  await one.keyboard.press('ControlOrMeta+S');
  await one.getByTestId('unsaved-source').waitFor({ state: 'detached' });
  await two.getByTestId('editor-source').locator('.view-lines').filter({ hasText: 'range(7)' }).waitFor();
  assert.equal(await two.getByTestId('unsaved-source').count(), 0);

  await block(two, 'source').getByRole('button', { name: 'Run block source' }).click();
  await one.getByTestId('status-source').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
  assert.equal(await one.getByTestId('rowcount-source').textContent(), '7 rows × 1 column');
});

test('two tabs save the same block: the second gets the conflict dialog and keeps its text', async () => {
  await typeCode(two, 'shape', 'SELECT n * 3 AS thrice FROM {{ df_1 }}');
  await typeCode(one, 'shape', 'SELECT n * 4 AS four_times FROM {{ df_1 }}');
  await one.keyboard.press('ControlOrMeta+S');
  await one.getByTestId('unsaved-shape').waitFor({ state: 'detached' });
  await two.bringToFront();
  await two.getByTestId('editor-shape').locator('.view-lines').click();
  await two.keyboard.press('ControlOrMeta+S');
  const dialog = two.getByTestId('conflict-shape');
  await dialog.waitFor({ timeout: 10_000 });
  assert.equal(await dialog.getAttribute('role'), 'alert');
  assert.match(await projectFile('transformers/shape.sql'), /four_times/);
  await two.getByTestId('editor-shape').locator('.view-lines').filter({ hasText: 'thrice' }).waitFor();
  // Keeping theirs' would discard; this tab overwrites, and the first tab (clean) follows.
  await two.getByRole('button', { name: 'Overwrite with mine' }).click();
  await dialog.waitFor({ state: 'detached' });
  await two.getByTestId('unsaved-shape').waitFor({ state: 'detached' });
  assert.match(await projectFile('transformers/shape.sql'), /thrice/);
  await one.getByTestId('editor-shape').locator('.view-lines').filter({ hasText: 'thrice' }).waitFor();
});

test('unsaved text follows a block renamed in the other tab', async () => {
  await typeCode(two, 'sink', 'SELECT count(*) AS kept_in_tab_two FROM {{ df_1 }}');
  await one.bringToFront();
  await block(one, 'sink').getByRole('button', { name: 'Rename block sink' }).click();
  await one.getByLabel('New name for sink').fill('sink_renamed');
  await one.getByRole('button', { name: 'Save name' }).click();
  await block(two, 'sink_renamed').waitFor();
  await two.getByTestId('editor-sink_renamed').locator('.view-lines').filter({ hasText: 'kept_in_tab_two' }).waitFor();
  // Whether tab two's autosave ran before or after the rename, its text ends up in the renamed file.
  await two
    .getByTestId('unsaved-sink_renamed')
    .waitFor({ state: 'detached', timeout: 10_000 })
    .catch(async (e: unknown) => {
      // Say what held the save back: a conflict dialog, a notice, or nothing visible.
      const conflict = await two.getByTestId('conflict-sink_renamed').textContent({ timeout: 500 }).catch(() => null);
      const alerts = await two.getByRole('alert').allTextContents();
      assert.fail(`tab two never saved sink_renamed (conflict: ${conflict ?? 'none'}; alerts: ${JSON.stringify(alerts)}; file: ${await projectFile('data_exporters/sink_renamed.sql')}): ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    });
  assert.match(await projectFile('data_exporters/sink_renamed.sql'), /kept_in_tab_two/);
});

test('unsaved text of a block removed in the other tab is kept, and comes back with the block', async () => {
  await typeCode(two, 'sink_renamed', 'SELECT 1 AS still_here');
  await one.bringToFront();
  await block(one, 'sink_renamed').getByRole('button', { name: 'Delete block sink_renamed' }).click();
  await one.getByRole('alertdialog', { name: 'Delete sink_renamed?' }).getByRole('button', { name: 'Delete' }).click();
  await block(two, 'sink_renamed').waitFor({ state: 'detached' });
  const saved = /still_here/.test(await projectFile('data_exporters/sink_renamed.sql'));
  // Unless its autosave won the race, tab two says where its edits went.
  if (!saved) await two.getByRole('alert').filter({ hasText: 'sink_renamed' }).first().waitFor();
  await two.bringToFront();
  await two.getByRole('navigation', { name: 'Project files' }).getByRole('button', { name: 'Add data_exporters/sink_renamed.sql to the pipeline' }).click();
  await two.getByTestId('editor-sink_renamed').locator('.view-lines').filter({ hasText: 'still_here' }).waitFor();
  await two.getByTestId('unsaved-sink_renamed').waitFor({ state: 'detached', timeout: 10_000 });
  assert.match(await projectFile('data_exporters/sink_renamed.sql'), /still_here/);
  await block(one, 'sink_renamed').waitFor();
});
