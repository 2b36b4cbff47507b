/**
 * The block kinds in the notebook, as a user drives them: a dynamic data loader fanning out to a
 * transformer, a conditional added in the sidekick that skips another block, the run seen on the
 * graph (a stacked node of three children, condition_failed in its own colour) and one child's
 * output picked in the cell; then a markdown note, rendered with nothing in it able to run.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { parse } from 'yaml';
import { z } from 'zod';
import { startServer, type RunningServer } from '../../lib/server/start';
import { launchBrowser, newWidePage, signInWithLink } from '../support/browser';
import { addBlock, block, typeCode } from '../support/notebook-page';
import { writeProject } from '../support/write-project';

let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let project: Awaited<ReturnType<typeof writeProject>>;
let page: Page;

const projectFile = (rel: string) => readFile(path.join(project.dir, rel), 'utf8');
const entries = z.array(z.record(z.string(), z.unknown()));
const pipelineYaml = async () => z.looseObject({ blocks: entries, conditionals: entries.optional() }).parse(parse(await projectFile('pipelines/p/metadata.yaml')));

before(async () => {
  project = await writeProject('kinds', { 'pipelines/p/metadata.yaml': '# block kinds\nblocks: []\n' });
  server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: project.root, dev: false });
  browser = await launchBrowser();
  page = await newWidePage(browser.context);
  await signInWithLink(page, server);
  await page.goto(`${server.url}/projects/kinds/pipelines/p`);
  await page.getByText('No blocks yet').waitFor();
  await page.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await project?.cleanup();
});

const sidekick = () => page.getByRole('complementary', { name: 'Sidekick' });
const openTab = (name: string) => sidekick().getByRole('tab', { name, exact: true }).click();

/** Waits until a file on disk says what the editor saved (autosave or the Save button). */
async function fileMatches(rel: string, pattern: RegExp): Promise<void> {
  for (const deadline = Date.now() + 15_000; !pattern.test(await projectFile(rel).catch(() => '')); ) {
    assert.ok(Date.now() < deadline, `${rel} never matched ${pattern}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a dynamic loader fans out to a transformer, a conditional skips a block: the graph stacks the children and shows condition failed', async () => {
  // A data loader of three rows, made dynamic in its settings.
  await addBlock(page, { type: 'Data loader', language: 'TypeScript', template: 'Generic (rows)', name: 'list_items', upstream: '' });
  await typeCode(page, 'list_items', "export default async function list_items(ctx: BlockContext) {\n  return [{ item: 'a', n: 1 }, { item: 'b', n: 2 }, { item: 'c', n: 3 }];\n}\n");
  await block(page, 'list_items').locator('header .name').click();
  await openTab('Block settings');
  const settings = sidekick().getByRole('form', { name: 'Settings of list_items' });
  await settings.getByRole('checkbox', { name: 'Dynamic (fan out each row)' }).check();
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await sidekick().getByRole('status').filter({ hasText: 'Saved to metadata.yaml' }).waitFor();
  await block(page, 'list_items').getByTestId('badge-dynamic-list_items').waitFor();
  assert.deepEqual((await pipelineYaml()).blocks.find((b) => b.uuid === 'list_items')?.configuration, { dynamic: true });

  // Downstream: runs once per item.
  await addBlock(page, { type: 'Transformer', language: 'SQL', template: 'Generic (SQL)', name: 'per_item', upstream: 'list_items' });
  await typeCode(page, 'per_item', 'SELECT item, n * 10 AS tens FROM {{ df_1 }}\n');
  // Another branch, which a conditional will skip.
  await addBlock(page, { type: 'Data loader', language: 'SQL', template: 'Generic (SQL query)', name: 'gated', upstream: '' });

  await openTab('Add-on blocks');
  const form = sidekick().getByRole('form', { name: 'New add-on block' });
  await form.getByLabel('Add-on type').selectOption({ label: 'Conditional' });
  await form.getByLabel('Add-on template').selectOption({ label: 'Generic condition' });
  await form.getByLabel('Add-on name').fill('never');
  await form.getByRole('group', { name: 'Attach to' }).getByRole('checkbox', { name: 'gated' }).check();
  assert.equal(await form.getByRole('group', { name: 'Attach to' }).getByRole('checkbox', { name: 'per_item' }).isChecked(), false);
  await form.getByRole('button', { name: 'Create add-on block' }).click();
  const conditional = sidekick().getByRole('region', { name: 'Conditional never' });
  await conditional.getByTestId('attached-conditional-never').filter({ hasText: 'Attached to: gated' }).waitFor();
  await typeCode(page, 'conditionals/never', '/** Never runs the blocks it is attached to. */\nexport default async function never() {\n  return false;\n}\n');
  await conditional.getByRole('button', { name: 'Save Conditional never' }).click();
  await fileMatches('conditionals/never.ts', /return false;/);
  assert.deepEqual((await pipelineYaml()).conditionals, [{ uuid: 'never', language: 'typescript', upstream_blocks: ['gated'], configuration: {} }]);
  // The cell names what is attached to it.
  await block(page, 'gated').getByTestId('badge-conditional-gated-never').waitFor();

  await openTab('Tree');
  await page.getByTestId('node-dynamic-list_items').waitFor();
  await page.getByTestId('node-conditional-gated-never').waitFor();
  await page.getByRole('button', { name: 'Run pipeline' }).click();

  // The transformer ran once per row of the loader: a stacked node with its three children.
  const fan = page.getByTestId('node-fan-per_item');
  await fan.filter({ hasText: '×3 · 3 completed' }).waitFor({ timeout: 60_000 });
  assert.match((await page.getByTestId('node-per_item').getAttribute('class')) ?? '', /\bstacked\b/);
  assert.equal(await page.getByTestId('node-fan-list_items').count(), 0);
  // The skipped block: condition failed, shown as such (not as failed) on the graph and in its cell.
  await page.getByTestId('node-status-gated').filter({ hasText: 'condition failed' }).waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId('node-status-gated').getAttribute('data-status'), 'condition_failed');
  assert.match((await page.getByTestId('status-gated').textContent()) ?? '', /^condition failed( · [\d.]+ s)?$/);
  assert.equal(await page.getByTestId('status-gated').getAttribute('data-status'), 'condition_failed');
  await block(page, 'gated').getByTestId('skipped-gated').filter({ hasText: 'conditional never returned false' }).waitFor();
  const colour = (testId: string) => page.getByTestId(testId).evaluate((el) => getComputedStyle(el).color);
  assert.notEqual(await colour('node-status-gated'), await colour('node-status-per_item'));
  await page.getByTestId('node-status-per_item').filter({ hasText: 'completed' }).waitFor();

  // One child's output, picked in the cell; a sort asks the kernel for that child's output by name.
  const cell = block(page, 'per_item');
  const picker = cell.getByLabel('Child run of per_item');
  assert.deepEqual(await picker.locator('option').evaluateAll((os) => os.map((o) => o.getAttribute('value'))), ['per_item:0', 'per_item:1', 'per_item:2']);
  await picker.selectOption('per_item:1');
  const table = cell.getByRole('table', { name: 'Output of per_item:1' });
  await table.waitFor();
  assert.equal(await cell.getByTestId('rowcount-per_item:1').textContent(), '1 row × 2 columns');
  assert.deepEqual(await table.locator('tbody tr').first().locator('td').allTextContents(), ['b', '20']);
  // A filter is answered by the kernel (the preview cannot): no row of per_item:1 has item "z", one has "b".
  const filter = cell.getByRole('form', { name: 'Filter output of per_item:1' });
  await filter.getByLabel('Filter value').fill('z');
  await filter.getByRole('button', { name: 'Apply filter' }).click();
  await cell.locator('table[aria-label="Output of per_item:1"][aria-rowcount="1"]').waitFor();
  await filter.getByLabel('Filter value').fill('b');
  await filter.getByRole('button', { name: 'Apply filter' }).click();
  await cell.locator('table[aria-label="Output of per_item:1"][aria-rowcount="2"]').waitFor();
  assert.deepEqual(await table.locator('tbody tr').first().locator('td').allTextContents(), ['b', '20']);
  assert.equal(await cell.getByRole('alert').count(), 0);
  await picker.selectOption('per_item:2');
  await cell.getByRole('table', { name: 'Output of per_item:2' }).locator('tbody tr').first().locator('td').first().filter({ hasText: 'c' }).waitFor();
});

test('a markdown note: edited in Monaco, rendered when left, with no run button and nothing in it able to run', async () => {
  await addBlock(page, { type: 'Markdown', language: 'Markdown', template: 'Empty file', name: 'notes' });
  const cell = block(page, 'notes');
  assert.equal(await cell.getByRole('button', { name: 'Run block notes' }).count(), 0);
  await typeCode(page, 'notes', '# Release notes\n\n<script>window.pwned = 1</script>\n\n[click me](javascript:window.pwned=2)\n');
  // Leaving the note shows it rendered.
  await page.getByTestId('connection').click();
  const rendered = cell.getByTestId('markdown-notes');
  await rendered.getByRole('heading', { name: 'Release notes' }).waitFor();
  assert.equal(await rendered.locator('script, a').count(), 0);
  assert.match((await rendered.textContent()) ?? '', /<script>window\.pwned = 1<\/script>/);
  assert.equal(await page.evaluate(() => 'pwned' in window), false);
  await fileMatches('markdowns/notes.md', /# Release notes/);
  // Outside the DAG: listed under the graph, not drawn in it.
  await page.getByTestId('graph-outside').filter({ hasText: 'notes' }).waitFor();
  assert.equal(await page.getByTestId('node-notes').count(), 0);
  // Clicking the note edits it again.
  await rendered.click();
  await page.getByTestId('editor-notes').locator('.monaco-editor').waitFor();
});

test('a cached block is reused on the next run, and "Run ignoring cache" runs it again', async () => {
  // A pipeline of its own, written as a user would in metadata.yaml; the block counts its runs in a file.
  const fs = await import('node:fs/promises');
  await fs.mkdir(path.join(project.dir, 'pipelines', 'cached'), { recursive: true });
  await fs.mkdir(path.join(project.dir, 'data_loaders'), { recursive: true });
  await fs.writeFile(path.join(project.dir, 'pipelines', 'cached', 'metadata.yaml'), 'blocks:\n  - uuid: counted\n    type: data_loader\n    language: typescript\n    configuration: { cache: { expiration: 1d } }\n');
  await fs.writeFile(
    path.join(project.dir, 'data_loaders', 'counted.ts'),
    "import { appendFileSync } from 'node:fs';\nimport path from 'node:path';\n\nexport default async function counted(ctx: BlockContext) {\n  appendFileSync(path.join(ctx.dataDir, 'counted.log'), 'ran\\n');\n  return [{ answer: 42 }];\n}\n",
  );
  const runs = async () => (await fs.readFile(path.join(project.dir, '.grimoire', 'counted.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  await page.goto(`${server.url}/projects/kinds/pipelines/cached`);
  await page.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor();
  const cell = block(page, 'counted');
  const ranTimes = async (n: number) => {
    for (const deadline = Date.now() + 20_000; (await runs()) !== n; ) {
      assert.ok(Date.now() < deadline, `expected ${n} runs, saw ${await runs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await cell.getByRole('button', { name: 'Run block counted' }).click();
  await ranTimes(1);
  await cell.getByText('completed').first().waitFor();
  await cell.getByRole('button', { name: 'Run block counted' }).click();
  await cell.getByLabel('Console output of counted').filter({ hasText: /cached: reused the output saved at/ }).waitFor();
  assert.equal(await runs(), 1, 'the second run reused the cached output');
  await cell.getByRole('button', { name: 'Run counted ignoring cache' }).click();
  await ranTimes(2);
});
