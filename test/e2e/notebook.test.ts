/**
 * The notebook IDE end to end, as a user drives it: an empty projects folder, a new project and
 * pipeline, three blocks from templates wired in the graph, code typed into Monaco, runs, a large
 * output paged to its end, an error pointed at its line, two tabs that conflict, and a reload.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../lib/server/start';
import { launchBrowser, newWidePage, signInWithLink } from '../support/browser';
import { addBlock, block, clickEdge, dragHandle, edge, sourceHandle, targetHandle, typeCode } from '../support/notebook-page';
import { tempProjects } from '../support/projects';

let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let projects: Awaited<ReturnType<typeof tempProjects>>;
let page: Page;

const EDITOR = '/projects/zoom/pipelines/etl';
const projectFile = (rel: string) => readFile(path.join(projects.root, 'zoom', rel), 'utf8');

before(async () => {
  // A fixed start token, as a script sets it: the browser's session outlives the restart test's new server.
  process.env.GRIMOIRE_TOKEN = 'notebook-test-token-0123456789';
  projects = await tempProjects({});
  server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: projects.root, dev: false });
  browser = await launchBrowser();
  page = await newWidePage(browser.context);
  await signInWithLink(page, server);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await projects?.cleanup();
});

test('a project and a pipeline are created from the browser, and each page works from its URL', async () => {
  await page.goto(server.url);
  const form = page.getByRole('form', { name: 'New project' });
  await form.getByLabel('Project name').fill('zoom');
  await form.getByRole('button', { name: 'Create project' }).click();
  await page.waitForURL(/\/projects\/zoom$/);
  await page.getByLabel('Pipeline name').fill('etl');
  await page.getByRole('button', { name: 'Create pipeline' }).click();
  await page.waitForURL(new RegExp(`${EDITOR}$`));
  await page.getByText('No blocks yet').waitFor();
  assert.match(await projectFile('grimoire.d.ts'), /interface DataFrame/);
  await page.reload();
  await page.getByText('No blocks yet').waitFor();
});

test('three blocks from templates, wired in the graph; a cycle is refused', async () => {
  await addBlock(page, { type: 'Data loader', language: 'SQL', template: 'Generic (SQL query)', name: 'load_rows' });
  await addBlock(page, { type: 'Transformer', language: 'TypeScript', template: 'Generic (query upstream)', name: 'clean_rows' });
  await addBlock(page, { type: 'Data exporter', language: 'SQL', template: 'Generic (SQL)', name: 'export_rows' });
  // A new block is wired below the selected (last) one, as in Mage.
  await edge(page, 'load_rows', 'clean_rows').waitFor({ state: 'attached' });
  await edge(page, 'clean_rows', 'export_rows').waitFor({ state: 'attached' });
  assert.match(await projectFile('transformers/clean_rows.ts'), /function clean_rows\(load_rows: DataFrame<'load_rows'>, ctx: BlockContext\)/);

  // Remove an edge in the graph, then draw it again from handle to handle.
  await clickEdge(page, 'clean_rows', 'export_rows');
  await page.getByRole('button', { name: 'Delete edge' }).click();
  await edge(page, 'clean_rows', 'export_rows').waitFor({ state: 'detached' });
  assert.match(await block(page, 'export_rows').locator('header .meta').textContent() ?? '', /^Data exporter · SQL$/);
  assert.match(await projectFile('pipelines/etl/metadata.yaml'), /uuid: export_rows[\s\S]*upstream_blocks: \[\]/);
  await dragHandle(page, sourceHandle(page, 'clean_rows'), targetHandle(page, 'export_rows'));
  await edge(page, 'clean_rows', 'export_rows').waitFor({ state: 'attached' });
  // The notebook shows the graph's edit at once.
  await block(page, 'export_rows').locator('header .meta').filter({ hasText: '← clean_rows' }).waitFor();
  assert.match(await projectFile('pipelines/etl/metadata.yaml'), /uuid: export_rows[\s\S]*upstream_blocks:\s*\[?\s*-?\s*clean_rows/);

  await dragHandle(page, sourceHandle(page, 'export_rows'), targetHandle(page, 'load_rows'));
  await page.getByRole('alert').filter({ hasText: 'cycle' }).waitFor();
  assert.equal(await edge(page, 'export_rows', 'load_rows').count(), 0);
  await page.getByRole('button', { name: 'Dismiss message' }).click();
});

test('code typed into Monaco is saved with Ctrl+S and by autosave', async () => {
  await typeCode(page, 'load_rows', "SELECT range::BIGINT AS id, (range % 7)::INTEGER AS bucket, 'trip ' || range AS label\nFROM range(2000000)");
  await page.getByTestId('unsaved-load_rows').waitFor();
  await page.keyboard.press('ControlOrMeta+S');
  await page.getByTestId('unsaved-load_rows').waitFor({ state: 'detached' });
  assert.match(await projectFile('data_loaders/load_rows.sql'), /FROM range\(2000000\)$/);

  await typeCode(
    page,
    'clean_rows',
    'export default async function clean_rows(load_rows: DataFrame, ctx: BlockContext) {\n  ctx.log(`got ${load_rows.rowCount} rows`);\n  return ctx.sql`SELECT * FROM ${load_rows} WHERE bucket < ${7}`;\n}\n',
  );
  // Autosave: no keystroke needed.
  await page.getByTestId('unsaved-clean_rows').waitFor();
  await page.getByTestId('unsaved-clean_rows').waitFor({ state: 'detached', timeout: 10_000 });
  assert.match(await projectFile('transformers/clean_rows.ts'), /WHERE bucket < \$\{7\}`;\n\}\n$/);
});

test('Run pipeline runs every block; the preview pages, sorts and filters the whole 2-million-row output', async () => {
  await page.getByRole('button', { name: 'Run pipeline' }).click();
  await page.getByTestId('status-export_rows').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
  assert.match((await page.getByTestId('node-status-export_rows').textContent()) ?? '', /completed/);
  assert.match((await block(page, 'clean_rows').getByLabel('Console output of clean_rows').textContent()) ?? '', /got 2000000 rows/);
  assert.equal(await page.getByTestId('rowcount-load_rows').textContent(), '2,000,000 rows × 3 columns');
  const table = page.getByRole('table', { name: 'Output of load_rows' });
  const headers = await table.getByRole('columnheader').allTextContents();
  assert.deepEqual(headers, ['idBIGINT', 'bucketINTEGER', 'labelVARCHAR']);

  const nav = page.getByRole('navigation', { name: 'Pages of load_rows' });
  const started = Date.now();
  await nav.getByRole('button', { name: 'Last page' }).click();
  await page.getByTestId('range-load_rows').filter({ hasText: 'rows 1,999,991–2,000,000 of 2,000,000' }).waitFor();
  assert.ok(Date.now() - started < 5000, `last page took ${Date.now() - started} ms`);
  assert.equal(await table.locator('tbody tr').last().locator('td').first().textContent(), '1999999');

  await table.getByRole('button', { name: 'Sort by id' }).click();
  await table.getByRole('button', { name: 'Sort by id' }).click();
  await page.getByTestId('range-load_rows').filter({ hasText: 'rows 1–10 of 2,000,000' }).waitFor();
  await table.locator('tbody tr').first().locator('td').first().filter({ hasText: '1999999' }).waitFor();
  assert.equal(await table.locator('th').first().getAttribute('aria-sort'), 'descending');

  const filter = page.getByRole('form', { name: 'Filter output of load_rows' });
  await filter.getByLabel('Filter column').selectOption('bucket');
  await filter.getByLabel('Filter operator').selectOption({ label: '=' });
  await filter.getByLabel('Filter value').fill('3');
  await filter.getByRole('button', { name: 'Apply filter' }).click();
  await page.getByTestId('range-load_rows').filter({ hasText: 'of 285,714 (filtered from 2,000,000)' }).waitFor();
  assert.equal(await table.locator('tbody tr').first().locator('td').first().textContent(), '1999994');
});

test('the chart tab draws a bar chart of a chosen column', async () => {
  const output = block(page, 'load_rows');
  await output.getByRole('tab', { name: 'Chart' }).click();
  const form = output.getByRole('form', { name: 'Chart of load_rows' });
  await form.getByLabel('Chart type').selectOption('bar');
  await form.getByLabel('X column').selectOption('bucket');
  await form.getByRole('button', { name: 'Draw chart' }).click();
  // The filter (bucket = 3) still applies: one bar.
  await output.getByRole('img', { name: 'bar of bucket' }).waitFor();
  assert.equal(await output.getByTestId('chart-bar').count(), 1);
  await output.getByRole('tab', { name: 'Table' }).click();
});

test('an error is shown under the block and its line is highlighted in the editor', async () => {
  await typeCode(page, 'clean_rows', 'export default async function clean_rows(load_rows: DataFrame) {\n  const n = load_rows.rowCount;\n  throw new Error(`too many rows: ${n}`);\n}\n');
  await block(page, 'clean_rows').getByRole('button', { name: 'Run block clean_rows' }).click();
  const error = page.getByTestId('error-clean_rows');
  await error.waitFor({ timeout: 30_000 });
  assert.match((await error.textContent()) ?? '', /transformers\/clean_rows\.ts:3: Error: too many rows: 2000000/);
  assert.match((await page.getByTestId('status-clean_rows').textContent()) ?? '', /failed/);
  assert.match((await page.getByTestId('node-status-clean_rows').textContent()) ?? '', /failed/);
  const highlighted = page.getByTestId('editor-clean_rows').locator('.view-overlays .error-line');
  await highlighted.waitFor({ state: 'attached' });
  const lineTops = await page.getByTestId('editor-clean_rows').evaluate((el) => {
    const overlay = el.querySelector('.view-overlays .error-line')?.parentElement;
    const lines = [...el.querySelectorAll('.view-line')].filter((l) => l.textContent?.replace(/\u00a0/g, ' ').includes('throw new Error'));
    return { overlay: overlay instanceof HTMLElement ? overlay.style.top : '', line: lines[0] instanceof HTMLElement ? lines[0].style.top : 'none' };
  });
  assert.equal(lineTops.overlay, lineTops.line);
});

test('edits in two tabs: the second save is a conflict, not an overwrite', async () => {
  const other = await newWidePage(browser.context);
  await other.goto(`${server.url}${EDITOR}`);
  await other.getByTestId('editor-export_rows').locator('.monaco-editor').waitFor();
  // Both tabs have unsaved edits of one block; this one saves first.
  await typeCode(other, 'export_rows', 'SELECT count(*) AS from_other_tab FROM {{ df_1 }}');
  await typeCode(page, 'export_rows', 'SELECT count(*) AS from_first_tab FROM {{ df_1 }}');
  await page.keyboard.press('ControlOrMeta+S');
  await page.getByTestId('unsaved-export_rows').waitFor({ state: 'detached' });
  // The other tab's save (Ctrl+S, or its autosave) finds the file changed since it loaded it.
  await other.bringToFront();
  await other.getByTestId('editor-export_rows').locator('.view-lines').click();
  await other.keyboard.press('ControlOrMeta+S');
  await other.getByTestId('conflict-export_rows').waitFor({ timeout: 10_000 });
  assert.match(await projectFile('data_exporters/export_rows.sql'), /from_first_tab/);
  assert.ok(await other.getByTestId('unsaved-export_rows').isVisible(), 'the losing tab keeps its text');
  await other.getByRole('button', { name: 'Load theirs (discard mine)' }).click();
  await other.getByTestId('editor-export_rows').locator('.view-lines').filter({ hasText: 'from_first_tab' }).waitFor();

  // A change on disk by another program is a conflict too.
  await typeCode(other, 'export_rows', 'SELECT 1 AS mine');
  await writeFile(path.join(projects.root, 'zoom', 'data_exporters', 'export_rows.sql'), 'SELECT 2 AS on_disk\n');
  await other.keyboard.press('ControlOrMeta+S');
  await other.getByTestId('conflict-export_rows').waitFor({ timeout: 10_000 });
  await other.getByRole('button', { name: 'Overwrite with mine' }).click();
  await other.getByTestId('conflict-export_rows').waitFor({ state: 'detached' });
  await other.getByTestId('unsaved-export_rows').waitFor({ state: 'detached' });
  assert.equal(await projectFile('data_exporters/export_rows.sql'), 'SELECT 1 AS mine');
  await other.close();
});

test('keyboard shortcuts: B adds below, D D deletes, Ctrl+Enter runs', async () => {
  await page.reload();
  await block(page, 'load_rows').locator('header .name').click();
  await page.keyboard.press('b');
  const form = page.getByRole('form', { name: 'New block' });
  await form.waitFor();
  assert.equal(await form.getByLabel('Upstream block').inputValue(), 'load_rows');
  await form.getByLabel('Block name').fill('scratch');
  await form.getByRole('button', { name: 'Create block' }).click();
  await block(page, 'scratch').waitFor();
  await block(page, 'scratch').locator('header .name').click();
  await page.keyboard.press('d');
  await page.keyboard.press('d');
  await block(page, 'scratch').waitFor({ state: 'detached' });
  assert.doesNotMatch(await projectFile('pipelines/etl/metadata.yaml'), /scratch/);

  await page.getByTestId('editor-load_rows').locator('.view-lines').click();
  await page.keyboard.press('ControlOrMeta+Enter');
  await page.getByTestId('status-load_rows').filter({ hasText: 'running' }).waitFor();
  await page.getByTestId('status-load_rows').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
});

test('collapse, reorder, run downstream, Shift+Enter, and restart the kernel with 0 0', async () => {
  await page.getByRole('button', { name: 'Collapse block load_rows' }).click();
  await page.getByTestId('editor-load_rows').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Expand block load_rows' }).click();
  await page.getByTestId('editor-load_rows').waitFor();

  await page.getByRole('button', { name: 'Move export_rows up' }).click();
  await page.locator('section[data-block]').nth(1).and(block(page, 'export_rows')).waitFor();
  assert.match(await projectFile('pipelines/etl/metadata.yaml'), /uuid: export_rows[\s\S]*uuid: clean_rows/);
  await page.getByRole('button', { name: 'Move export_rows down' }).click();
  await page.locator('section[data-block]').nth(2).and(block(page, 'export_rows')).waitFor();

  // Fix the failing block, then run it and everything downstream of it.
  await typeCode(page, 'clean_rows', 'export default async function clean_rows(load_rows: DataFrame, ctx: BlockContext) {\n  return ctx.sql`SELECT bucket, count(*) AS n FROM ${load_rows} GROUP BY bucket`;\n}\n');
  await page.getByRole('button', { name: 'Run clean_rows and downstream' }).click();
  await page.getByTestId('status-clean_rows').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('status-export_rows').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('rowcount-clean_rows').filter({ hasText: '7 rows × 2 columns' }).waitFor();

  // Shift+Enter runs the block and moves the selection to the next one.
  await page.getByTestId('editor-clean_rows').locator('.view-lines').click();
  await page.keyboard.press('Shift+Enter');
  await page.locator('section.block.selected').and(block(page, 'export_rows')).waitFor();

  // 0 0 restarts the kernel; outputs survive it (the kernel reloads them from its cache).
  await page.getByRole('region', { name: 'Dependency graph' }).click({ position: { x: 5, y: 5 } });
  await block(page, 'export_rows').locator('header .name').click();
  await page.keyboard.press('0');
  await page.keyboard.press('0');
  await page.getByTestId('connection').filter({ hasText: /kernel (starting|not started)/ }).waitFor();
  await page.getByTestId('connection').filter({ hasText: 'kernel idle' }).waitFor({ timeout: 20_000 });
  await page.getByRole('navigation', { name: 'Pages of load_rows' }).getByRole('button', { name: 'Last page' }).click();
  await page.getByTestId('range-load_rows').filter({ hasText: 'of 2,000,000' }).filter({ hasText: '1,999,991' }).waitFor();
});

test('rename a block: its file and the references follow', async () => {
  await block(page, 'clean_rows').getByRole('button', { name: 'Rename block clean_rows' }).click();
  await page.getByLabel('New name for clean_rows').fill('clean_trips');
  await page.getByRole('button', { name: 'Save name' }).click();
  await block(page, 'clean_trips').waitFor();
  await edge(page, 'clean_trips', 'export_rows').waitFor({ state: 'attached' });
  assert.match(await projectFile('transformers/clean_trips.ts'), /function clean_trips\(load_rows: DataFrame/);
  assert.match(await projectFile('pipelines/etl/metadata.yaml'), /upstream_blocks:\s*\[?\s*-?\s*clean_trips/);
});

test('a reload finds everything saved: blocks, code, edges and the output', async () => {
  await page.reload();
  for (const uuid of ['load_rows', 'clean_trips', 'export_rows']) await block(page, uuid).waitFor();
  await page.getByTestId('editor-load_rows').locator('.view-lines').filter({ hasText: 'range(2000000)' }).waitFor();
  await edge(page, 'load_rows', 'clean_trips').waitFor({ state: 'attached' });
  await edge(page, 'clean_trips', 'export_rows').waitFor({ state: 'attached' });
  // The output comes back from the kernel's cache.
  await page.getByTestId('rowcount-load_rows').filter({ hasText: '2,000,000 rows × 3 columns' }).waitFor({ timeout: 20_000 });
});

test('pipelines are renamed, cloned and deleted (after a confirmation) on the project page', async () => {
  await page.goto(`${server.url}/projects/zoom`);
  await page.getByRole('button', { name: 'Clone etl' }).click();
  await page.getByLabel('Name of the copy of etl').fill('etl_copy');
  await page.getByRole('button', { name: 'Create copy' }).click();
  await page.getByRole('link', { name: 'etl_copy' }).waitFor();
  await page.getByRole('button', { name: 'Rename etl_copy' }).click();
  await page.getByLabel('New name for etl_copy').fill('etl_backup');
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.getByRole('link', { name: 'etl_backup' }).waitFor();
  await page.getByRole('button', { name: 'Delete etl_backup' }).click();
  await page.getByRole('alertdialog', { name: 'Delete etl_backup?' }).getByRole('button', { name: 'Delete etl_backup' }).click();
  await page.getByRole('link', { name: 'etl_backup' }).waitFor({ state: 'detached' });
  assert.deepEqual(await page.getByRole('list', { name: 'Pipelines' }).getByRole('link').allTextContents(), ['etl']);
});

test('TypeScript blocks get intellisense for the block API', async () => {
  await page.goto(`${server.url}${EDITOR}`);
  await addBlock(page, { type: 'Transformer', language: 'TypeScript', template: 'Generic (query upstream)', name: 'typed' });
  const editor = page.getByTestId('editor-typed');
  // A type error proves the TypeScript worker runs with the block API loaded.
  await typeCode(page, 'typed', 'export default async function typed(df: DataFrame, ctx: BlockContext) {\n  const n: string = df.rowCount;\n  ');
  await editor.locator('.squiggly-error').first().waitFor({ state: 'attached', timeout: 30_000 });
  await page.keyboard.type('ctx.');
  const suggest = editor.locator('.suggest-widget').filter({ hasText: 'fromRows' });
  for (let i = 0; i < 5 && !(await suggest.isVisible()); i++) {
    await suggest.waitFor({ timeout: 3_000 }).catch(() => page.keyboard.press('Control+Space'));
  }
  await suggest.waitFor({ timeout: 3_000 });
  await page.keyboard.press('Escape');
  await block(page, 'typed').getByRole('button', { name: 'Delete block typed' }).click();
  await page.getByRole('alertdialog', { name: 'Delete typed?' }).getByRole('button', { name: 'Delete' }).click();
  await block(page, 'typed').waitFor({ state: 'detached' });
  // Its file stays in the project: the file browser adds it back as an existing block.
  await page.getByRole('navigation', { name: 'Project files' }).getByRole('button', { name: 'Add transformers/typed.ts to the pipeline' }).click();
  await block(page, 'typed').waitFor();
  await page.getByTestId('editor-typed').locator('.view-lines').filter({ hasText: 'rowCount' }).waitFor();
});

test('SQL blocks complete upstream table and column names', async () => {
  // A renamed block's output is made under its new name by running it.
  await block(page, 'clean_trips').getByRole('button', { name: 'Run block clean_trips' }).click();
  await page.getByTestId('rowcount-clean_trips').filter({ hasText: '7 rows × 2 columns' }).waitFor({ timeout: 30_000 });
  const editor = page.getByTestId('editor-export_rows');
  await typeCode(page, 'export_rows', 'SELECT ');
  const suggest = editor.locator('.suggest-widget');
  for (let i = 0; i < 5 && !(await suggest.filter({ hasText: 'bucket' }).isVisible()); i++) {
    await page.keyboard.press('Control+Space');
    await suggest.filter({ hasText: 'bucket' }).waitFor({ timeout: 3_000 }).catch(() => undefined);
  }
  assert.match((await suggest.textContent()) ?? '', /clean_trips/);
  assert.match((await suggest.textContent()) ?? '', /bucket/);
  await page.keyboard.press('Escape');
});

test('unsaved text survives a reload; an endless block is stopped with I I', async () => {
  await typeCode(page, 'export_rows', 'SELECT n FROM {{ df_1 }} -- not saved yet');
  // Reload at once, before autosave: the draft kept by the tab comes back, marked unsaved.
  await page.reload();
  await page.getByTestId('editor-export_rows').locator('.view-lines').filter({ hasText: 'not\u00a0saved\u00a0yet' }).waitFor();
  await page.getByTestId('unsaved-export_rows').waitFor();
  await page.getByRole('button', { name: 'Save block export_rows' }).click();
  await page.getByTestId('unsaved-export_rows').waitFor({ state: 'detached' });
  assert.match(await projectFile('data_exporters/export_rows.sql'), /not saved yet/);

  await addBlock(page, { type: 'Data loader', language: 'TypeScript', template: 'Generic (rows)', name: 'spin' });
  await typeCode(page, 'spin', 'export default function spin() {\n  for (;;) {}\n}\n');
  await block(page, 'spin').getByRole('button', { name: 'Run block spin' }).click();
  await page.getByTestId('status-spin').filter({ hasText: 'running' }).waitFor({ timeout: 20_000 });
  await page.getByTestId('elapsed').waitFor();
  await block(page, 'spin').locator('header .name').click();
  await page.keyboard.press('i');
  await page.keyboard.press('i');
  await page.getByTestId('status-spin').filter({ hasText: 'cancelled' }).waitFor({ timeout: 20_000 });
});

test('a server restart: the page reconnects, catches up, and unsaved text is still there to save', async () => {
  await page.reload();
  await typeCode(page, 'export_rows', 'SELECT n * 2 AS doubled FROM {{ df_1 }}');
  const port = Number(new URL(server.url).port);
  await server.close();
  await page.getByTestId('connection').filter({ hasText: 'connecting' }).waitFor({ timeout: 20_000 });
  server = await startServer({ host: '127.0.0.1', port, projectsDir: projects.root, dev: false });
  await page.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('editor-export_rows').locator('.view-lines').filter({ hasText: 'doubled' }).waitFor();
  await page.getByTestId('unsaved-export_rows').waitFor({ state: 'detached', timeout: 15_000 });
  assert.match(await projectFile('data_exporters/export_rows.sql'), /doubled/);
  // Outputs come back from the kernel's cache after the restart.
  await page.getByTestId('rowcount-load_rows').filter({ hasText: '2,000,000 rows' }).waitFor({ timeout: 20_000 });
});

test('a block file dragged from the file browser is added where it is dropped', async () => {
  await block(page, 'spin').getByRole('button', { name: 'Delete block spin' }).click();
  await page.getByRole('alertdialog', { name: 'Delete spin?' }).getByRole('button', { name: 'Delete' }).click();
  await block(page, 'spin').waitFor({ state: 'detached' });
  const file = page.getByRole('navigation', { name: 'Project files' }).getByRole('button', { name: 'Add data_loaders/spin.ts to the pipeline' });
  // Drop on the upper half of the second cell: the file lands between the first and second block.
  const target = block(page, 'clean_trips').locator('header');
  const from = await file.boundingBox();
  const to = await target.boundingBox();
  if (!from || !to) throw new Error('file or cell not visible');
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x + 40, to.y + 4, { steps: 8 });
  await page.getByTestId('drop-indicator').waitFor();
  await page.mouse.up();
  await block(page, 'spin').waitFor();
  assert.deepEqual(
    await page.locator('section[data-block]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-block'))),
    ['load_rows', 'spin', 'clean_trips', 'export_rows', 'typed'],
  );
  assert.equal(await page.getByTestId('drop-indicator').count(), 0);
  assert.match(await projectFile('pipelines/etl/metadata.yaml'), /uuid: load_rows[\s\S]*uuid: spin[\s\S]*uuid: clean_trips/);
  await page.getByTestId('editor-spin').locator('.view-lines').filter({ hasText: 'for\u00a0(;;)' }).waitFor();
});

test("a TypeScript block typed DataFrame<'upstream'> is offered that upstream's output columns, and a wrong one is an error", async () => {
  await block(page, 'load_rows').locator('header .name').click();
  await addBlock(page, { type: 'Transformer', language: 'TypeScript', template: 'Row by row (JavaScript)', name: 'typed_rows', upstream: 'load_rows' });
  // The template already types its argument by the upstream.
  assert.match(await projectFile('transformers/typed_rows.ts'), /function typed_rows\(load_rows: DataFrame<'load_rows'>, ctx: BlockContext\)/);
  const editor = page.getByTestId('editor-typed_rows');
  const head = "export default async function typed_rows(load_rows: DataFrame<'load_rows'>, ctx: BlockContext) {\n  ctx.log('typed');\n  const [row] = await load_rows.rows({ limit: 1 });\n";
  // A column load_rows does not have: the only error, on its line.
  await typeCode(page, 'typed_rows', `${head}  return [{ wrong: row?.no_such_column }];\n}\n`);
  await editor.locator('.view-overlays .squiggly-error').first().waitFor({ state: 'attached', timeout: 30_000 });
  const tops = await editor.evaluate((el) => {
    const squiggles = [...el.querySelectorAll('.view-overlays .squiggly-error')].map((s) => (s.parentElement instanceof HTMLElement ? s.parentElement.style.top : ''));
    const line = [...el.querySelectorAll('.view-line')].find((l) => l.textContent?.includes('no_such_column'));
    return { squiggles: [...new Set(squiggles)], line: line instanceof HTMLElement ? line.style.top : 'none' };
  });
  assert.deepEqual(tops.squiggles, [tops.line]);

  await typeCode(page, 'typed_rows', `${head}  return [{ label: row?`);
  await page.keyboard.type('.');
  const suggest = editor.locator('.suggest-widget').filter({ hasText: 'bucket' });
  for (let i = 0; i < 5 && !(await suggest.isVisible()); i++) {
    await suggest.waitFor({ timeout: 3_000 }).catch(() => page.keyboard.press('Control+Space'));
  }
  await suggest.waitFor({ timeout: 3_000 });
  assert.match((await suggest.textContent()) ?? '', /label/);
  await page.keyboard.press('Escape');
});
