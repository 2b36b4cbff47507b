/**
 * The sidekick's panels beside the notebook: the selected block's whole output, the pipeline's
 * variables (saved to metadata.yaml and used by the next run), and block settings with their
 * validation errors.
 */
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { parse } from 'yaml';
import { z } from 'zod';
import { startServer, type RunningServer } from '../../lib/server/start';
import { launchBrowser, newWidePage, signInWithLink } from '../support/browser';
import { block } from '../support/notebook-page';
import { writeProject } from '../support/write-project';

let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let project: Awaited<ReturnType<typeof writeProject>>;
let page: Page;

const metadata = () => readFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'utf8');
const entries = z.object({ blocks: z.array(z.record(z.string(), z.unknown())) });
/** The block entries of metadata.yaml as data (their YAML layout is the file's own). */
const blockEntries = async () => entries.parse(parse(await metadata())).blocks;

before(async () => {
  project = await writeProject('side', {
    'pipelines/p/metadata.yaml': '# kept on every save\nblocks:\n  - { uuid: numbers, type: data_loader, language: typescript }\n  - { uuid: firsts, type: transformer, language: sql, upstream_blocks: [numbers] }\n',
    'data_loaders/numbers.ts':
      "export default async function numbers(ctx: BlockContext) {\n  return ctx.sql`SELECT range AS n, ${String(ctx.variables.greeting ?? 'none')} AS greeting FROM range(120)`;\n}\n",
    'transformers/firsts.sql': "SELECT * FROM {{ df_1 }} ORDER BY n LIMIT {{ variables('limit_rows') }}\n",
  });
  server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: project.root, dev: false });
  browser = await launchBrowser();
  page = await newWidePage(browser.context);
  await signInWithLink(page, server);
  await page.goto(`${server.url}/projects/side/pipelines/p`);
  await page.getByTestId('editor-numbers').locator('.monaco-editor').waitFor();
  await page.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await project?.cleanup();
});

const sidekick = () => page.getByRole('complementary', { name: 'Sidekick' });
const openTab = (name: string) => sidekick().getByRole('tab', { name, exact: true }).click();

test('Variables: added, edited and deleted in the sidekick, saved to metadata.yaml, and used by the next run', async () => {
  await openTab('Variables');
  assert.equal(await sidekick().getByRole('tab', { name: 'Variables' }).getAttribute('aria-selected'), 'true');
  const form = sidekick().getByRole('form', { name: 'New variable' });
  await form.getByLabel('Variable name').fill('greeting');
  await form.getByLabel('Variable value').fill('hello');
  await form.getByRole('button', { name: 'Add variable' }).click();
  const table = sidekick().getByRole('table', { name: 'Pipeline variables' });
  await table.getByLabel('Value of greeting').waitFor();
  await form.getByLabel('Variable name').fill('limit_rows');
  await form.getByLabel('Variable value').fill('3');
  await form.getByRole('button', { name: 'Add variable' }).click();
  await table.getByLabel('Value of limit_rows').waitFor();
  assert.match(await metadata(), /^# kept on every save[\s\S]*variables:\n\s+greeting: hello\n\s+limit_rows: 3\n/);
  // A bad name is refused in the panel, before anything is written.
  await form.getByLabel('Variable name').fill('2bad');
  await form.getByRole('button', { name: 'Add variable' }).click();
  await sidekick().getByRole('alert').filter({ hasText: 'letters, digits and _' }).waitFor();

  await page.getByRole('button', { name: 'Run pipeline' }).click();
  await page.getByTestId('status-firsts').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId('rowcount-firsts').textContent(), '3 rows × 2 columns');
  assert.equal(await page.getByRole('table', { name: 'Output of firsts' }).locator('tbody tr').first().locator('td').nth(1).textContent(), 'hello');

  await table.getByLabel('Value of limit_rows').fill('2');
  await table.getByRole('button', { name: 'Save variable limit_rows' }).click();
  await table.getByRole('button', { name: 'Save variable limit_rows' }).and(page.locator(':disabled')).waitFor();
  // The button is disabled while the save is in flight too: the delete must wait for the saved
  // version, or it carries the old one and is (rightly) a conflict.
  for (const deadline = Date.now() + 15_000; !/limit_rows: 2/.test(await metadata()); ) {
    assert.ok(Date.now() < deadline, 'limit_rows: 2 was not saved');
    await new Promise((r) => setTimeout(r, 50));
  }
  // The row is no longer busy once the save's answer (and its new version) has arrived.
  await table.getByRole('button', { name: 'Delete variable limit_rows' }).and(page.locator(':enabled')).waitFor();
  await table.getByRole('button', { name: 'Delete variable greeting' }).click();
  await table.getByLabel('Value of greeting').waitFor({ state: 'detached' });
  const yaml = await metadata();
  assert.match(yaml, /limit_rows: 2/);
  assert.doesNotMatch(yaml, /greeting/);
  await page.getByRole('button', { name: 'Run pipeline' }).click();
  await page.getByTestId('rowcount-firsts').filter({ hasText: '2 rows × 2 columns' }).waitFor({ timeout: 30_000 });
  assert.equal(await page.getByRole('table', { name: 'Output of firsts' }).locator('tbody tr').first().locator('td').nth(1).textContent(), 'none');
});

test('Output: the selected block\'s whole output, larger pages, in the sidekick', async () => {
  await block(page, 'numbers').locator('header .name').click();
  await openTab('Output');
  const table = sidekick().getByRole('table', { name: 'Output of numbers (sidekick)' });
  await table.waitFor();
  assert.equal(await sidekick().getByTestId('rowcount-numbers (sidekick)').textContent(), '120 rows × 2 columns');
  await sidekick().getByTestId('range-numbers (sidekick)').filter({ hasText: 'rows 1–50 of 120' }).waitFor();
  assert.equal(await table.locator('tbody tr').count(), 50);
  await sidekick().getByRole('navigation', { name: 'Pages of numbers (sidekick)' }).getByRole('button', { name: 'Last page' }).click();
  await sidekick().getByTestId('range-numbers (sidekick)').filter({ hasText: 'rows 101–120 of 120' }).waitFor();
  // Selecting another block shows its output.
  await block(page, 'firsts').locator('header .name').click();
  await sidekick().getByTestId('rowcount-firsts (sidekick)').filter({ hasText: '2 rows' }).waitFor();
});

test('Block settings: retries, timeout and destination saved to metadata.yaml; invalid values and a cycle are refused with the reason', async () => {
  await block(page, 'firsts').locator('header .name').click();
  await openTab('Block settings');
  const form = sidekick().getByRole('form', { name: 'Settings of firsts' });
  await form.getByLabel('Retries', { exact: true }).fill('two');
  await form.getByLabel('Timeout (s)').fill('-5');
  await form.getByLabel('Destination type').selectOption('parquet');
  await form.getByRole('button', { name: 'Save settings' }).click();
  const error = sidekick().getByTestId('settings-error');
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /Retries must be a number; Timeout must be more than 0; Path is required for a Parquet destination/);
  assert.equal(await form.getByLabel('Retries', { exact: true }).getAttribute('aria-invalid'), 'true');
  assert.doesNotMatch(await metadata(), /retry_config/);

  await form.getByLabel('Retries', { exact: true }).fill('2');
  await form.getByLabel('Delay (s)', { exact: true }).fill('1');
  await form.getByLabel('Timeout (s)').fill('30');
  await form.getByLabel('Path', { exact: true }).fill('lake/firsts');
  await form.getByLabel('Partition by').fill('n');
  await form.getByRole('button', { name: 'Save settings' }).click();
  await sidekick().getByRole('status').filter({ hasText: 'Saved to metadata.yaml' }).waitFor();
  assert.match(await metadata(), /^# kept on every save/);
  const firsts = (await blockEntries()).find((b) => b.uuid === 'firsts');
  assert.deepEqual(firsts?.retry_config, { retries: 2, delay: 1 });
  assert.equal(firsts?.timeout, 30);
  assert.deepEqual(firsts?.configuration, { destination: { type: 'parquet', path: 'lake/firsts', write_policy: 'replace', partition_by: ['n'] } });
  // The form shows what was saved, and the destination is used by the next run.
  assert.equal(await sidekick().getByRole('form', { name: 'Settings of firsts' }).getByLabel('Path', { exact: true }).inputValue(), 'lake/firsts');
  await page.getByRole('button', { name: 'Run firsts with upstream' }).click();
  // firsts completed in an earlier run already: wait for this run's export line instead.
  await block(page, 'firsts').getByLabel('Console output of firsts').filter({ hasText: 'rows to lake/firsts' }).waitFor({ timeout: 30_000 });
  await access(path.join(project.dir, 'lake', 'firsts', 'n=0'));

  // An upstream that closes a cycle: the server's reason is shown in the panel.
  await block(page, 'numbers').locator('header .name').click();
  const numbers = sidekick().getByRole('form', { name: 'Settings of numbers' });
  await numbers.getByRole('checkbox', { name: 'firsts' }).check();
  await numbers.getByRole('button', { name: 'Save settings' }).click();
  await sidekick().getByTestId('settings-error').filter({ hasText: 'cycle: ' }).waitFor();

  // Name and type: the block file moves.
  await numbers.getByRole('checkbox', { name: 'firsts' }).uncheck();
  await numbers.getByLabel('Block name').fill('numbers_src');
  await numbers.getByLabel('Block type').selectOption('transformer');
  await numbers.getByRole('button', { name: 'Save settings' }).click();
  await block(page, 'numbers_src').waitFor();
  await access(path.join(project.dir, 'transformers', 'numbers_src.ts'));
  assert.equal((await blockEntries()).find((b) => b.uuid === 'numbers_src')?.type, 'transformer');
  assert.match((await block(page, 'firsts').locator('header .meta').textContent()) ?? '', /← numbers_src/);
});
