import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { type RunningServer } from '../../lib/server/start';
import { browserWorkspace, type BrowserWorkspace } from '../support/workspace';

let workspace: BrowserWorkspace;
let server: RunningServer;
let projects: BrowserWorkspace['projects'];
let page: Page;

before(async () => {
  workspace = await browserWorkspace({ orch: 'test/fixtures/projects/orchestration' });
  ({ server, projects, page } = workspace);
});

after(async () => workspace?.close());

const utc = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');

test('a trigger created in the UI fires, and its run completes on the run page with graph, timeline and logs', async () => {
  await page.goto(`${server.url}/projects/orch/pipelines/hello/triggers`);
  const form = page.getByRole('form', { name: 'New trigger' });
  await form.getByLabel('Name', { exact: true }).fill('soon');
  await form.getByLabel('Schedule', { exact: true }).fill('@once');
  await form.getByLabel('Start time').fill(utc(new Date(Date.now() + 4000)));
  // Without a catch-up policy the form refuses.
  await form.getByRole('button', { name: 'Create trigger' }).click();
  await page.getByRole('alert').filter({ hasText: 'choose a catch-up policy' }).waitFor();
  await form.getByLabel('latest only').check();
  // Mage's create_initial_pipeline_run: false only skips an execution already past; this one is ahead.
  await form.getByLabel('First run (create_initial_pipeline_run)').selectOption('false');
  await form.getByRole('button', { name: 'Create trigger' }).click();
  const section = page.getByRole('region', { name: 'Trigger soon' });
  await section.waitFor();
  await section.getByText('initial run no').waitFor();
  assert.match((await page.getByTestId('next-soon').textContent()) ?? '', /Next run: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  assert.match(await readFile(path.join(projects.root, 'orch', 'pipelines', 'hello', 'triggers.yaml'), 'utf8'), /name: soon[\s\S]*schedule_interval: "?@once[\s\S]*create_initial_pipeline_run: false/);
  // The scheduler fires at start_time; the page explains it and links the run.
  await page.getByTestId('explain-soon').filter({ hasText: 'started: run' }).waitFor({ timeout: 20_000 });
  await section.getByRole('link', { name: 'run' }).first().click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('node-hello').getAttribute('data-status'), 'completed');
  assert.equal(await page.getByTestId('node-after').getAttribute('data-status'), 'completed');
  assert.equal(await page.getByLabel('Timeline').locator('[data-status="completed"]').count(), 2);
  await page.getByTestId('block-logs').filter({ hasText: 'hello ds=' }).waitFor();
  assert.match((await page.getByTestId('block-logs').textContent()) ?? '', /trigger=soon who=pipeline/);
  await page.getByLabel('Search logs').fill('no such line');
  await page.getByTestId('block-logs').filter({ hasText: 'no log lines' }).waitFor();
  // Fired once, it is done: the triggers page says so instead of a next run.
  await page.goto(`${server.url}/projects/orch/pipelines/hello/triggers`);
  await page.getByTestId('next-soon').filter({ hasText: 'Done: no execution left' }).waitFor();
});

test("keys of a Mage triggers.yaml that Grimoire does not act on are named on the triggers page", async () => {
  const file = path.join(projects.root, 'orch', 'pipelines', 'hello', 'triggers.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(file, `${text.trimEnd()}\n  - name: from_mage\n    schedule_type: api\n    status: active\n    settings: { allow_blocks_to_fail: true }\n`);
  await page.goto(`${server.url}/projects/orch/pipelines/hello/triggers`);
  await page.getByTestId('explain-from_mage').filter({ hasText: 'settings.allow_blocks_to_fail, which Grimoire does not act on' }).waitFor();
  // Put back as it was, for the tests that follow.
  await writeFile(file, text);
});

test('an API trigger made in the UI shows its token once; the token starts a run, a wrong one is refused', async () => {
  await page.goto(`${server.url}/projects/orch/pipelines/hello/triggers`);
  const form = page.getByRole('form', { name: 'New trigger' });
  await form.getByLabel('Name', { exact: true }).fill('hook');
  await form.getByLabel('Type').selectOption('api');
  await form.getByRole('button', { name: 'Create trigger' }).click();
  const token = ((await page.getByTestId('trigger-token').textContent()) ?? '').trim();
  assert.ok(token.length > 20);
  const url = `${server.url}/api/projects/orch/pipelines/hello/triggers/hook/runs`;
  const wrong = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, body: '{"variables": {}}' });
  assert.equal(wrong.status, 401);
  const right = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"variables": {"who": "curl"}}' });
  assert.equal(right.status, 201);
  const created: unknown = await right.json();
  assert.ok(created && typeof created === 'object' && 'run' in created && created.run && typeof created.run === 'object' && 'id' in created.run);
  const id = String(created.run.id);
  await page.goto(`${server.url}/projects/orch/pipelines/hello/runs`);
  await page.getByRole('table', { name: 'Runs' }).getByRole('link', { name: id.slice(0, 8) }).waitFor();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${server.url}/api/runs/${id}`, { headers: { authorization: `Bearer ${server.startToken ?? ''}` } });
    const text = await res.text();
    if (/"run":\{[^}]*"status":"completed"/.test(text)) break;
    assert.ok(Date.now() < deadline, text.slice(0, 500));
    await new Promise((r) => setTimeout(r, 200));
  }
});
