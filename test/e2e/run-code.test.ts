/**
 * A run keeps the code it ran (issue 14, part 4), as a user sees it: run a pipeline, edit a block
 * file, and the run page still shows the old code, a diff against the file now, and restores it.
 * And the runs list says each run's kind and who started it, and filters by kind (part 3).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { z } from 'zod';
import { type RunningServer } from '../../lib/server/start';
import { browserWorkspace, type BrowserWorkspace } from '../support/workspace';

let workspace: BrowserWorkspace;
let server: RunningServer;
let projects: BrowserWorkspace['projects'];
let page: Page;
let runId = '';
let helloFile = '';
let original = '';

const startedRun = z.object({ run: z.object({ id: z.string() }) });
const runStatus = z.object({ run: z.object({ status: z.string() }) });

/** Calls the API as `grimoire start`'s token (an owner), as a script would. */
function api(url: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(`${server.url}${url}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${server.startToken ?? ''}`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

before(async () => {
  workspace = await browserWorkspace({ orch: 'test/fixtures/projects/orchestration' });
  ({ server, projects, page } = workspace);
  helloFile = path.join(projects.root, 'orch', 'data_loaders', 'hello.ts');
  original = await readFile(helloFile, 'utf8');
  assert.match(original, /ctx\.log\(`hello ds=/, 'the fixture block logs "hello ds="');
});

after(async () => workspace?.close());

test('a run, then an edit: the run page shows the old code and a diff, and restores it to the file', async () => {
  const res = await api('/api/runs', { method: 'POST', body: { project: 'orch', pipeline: 'hello' } });
  assert.equal(res.status, 200);
  runId = startedRun.parse(await res.json()).run.id;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = runStatus.parse(await (await api(`/api/runs/${runId}`)).json()).run.status;
    if (status === 'completed') break;
    assert.ok(status !== 'failed' && status !== 'cancelled' && Date.now() < deadline, `run ${runId} is ${status}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  // The block is edited after the run, on disk, as in another editor.
  const edited = original.replace('ctx.log(`hello ds=', 'ctx.log(`edited ds=');
  await writeFile(helloFile, edited);

  await page.goto(`${server.url}/runs/${runId}`);
  await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('node-hello').click();
  const code = page.getByRole('region', { name: 'Code of hello' });
  const file = code.getByTestId('pinned-data_loaders/hello.ts');
  const pinned = file.getByTestId('pinned-code');
  await pinned.filter({ hasText: 'hello ds=' }).waitFor();
  assert.doesNotMatch((await pinned.textContent()) ?? '', /edited ds=/, 'the run page shows the code the run ran, not the file now');
  assert.match((await file.getByTestId('code-state').textContent()) ?? '', /changed since: −1 \+1 lines/);

  await file.getByRole('tab', { name: 'Diff with current' }).click();
  const diff = file.getByTestId('code-diff');
  await diff.locator('[data-kind="removed"]').filter({ hasText: 'hello ds=' }).waitFor();
  await diff.locator('[data-kind="added"]').filter({ hasText: 'edited ds=' }).waitFor();
  assert.equal(await diff.locator('[data-kind="removed"]').count(), 1);
  assert.equal(await diff.locator('[data-kind="added"]').count(), 1);

  // The pipeline's metadata.yaml as the run read it is there too.
  await code.getByText('metadata.yaml as the run read it').click();
  await code.getByTestId('pinned-pipelines/hello/metadata.yaml').getByTestId('pinned-code').filter({ hasText: 'uuid: after' }).waitFor();

  await file.getByRole('button', { name: 'Restore this version' }).click();
  await file.getByRole('status').filter({ hasText: 'Restored data_loaders/hello.ts' }).waitFor();
  assert.equal(await readFile(helloFile, 'utf8'), original, 'the file on disk holds the code the run ran again');
  await file.getByTestId('code-state').filter({ hasText: 'the same as the file now' }).waitFor();
  assert.equal(await file.getByRole('button', { name: 'Restore this version' }).isDisabled(), true);
});

test('the runs list shows each run’s kind and who started it, and filters by kind', async () => {
  assert.ok(runId, 'the first test started a run');
  await page.goto(`${server.url}/projects/orch/pipelines/hello/runs`);
  const table = page.getByRole('table', { name: 'Runs' });
  const row = table.getByRole('row').filter({ has: page.getByRole('link', { name: runId.slice(0, 8) }) });
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /manual/);
  assert.match((await row.textContent()) ?? '', /start token/);

  const kind = page.getByLabel('Filter by kind');
  assert.deepEqual(await kind.locator('option').allTextContents(), ['all', 'scheduled', 'api', 'manual', 'backfill', 'editor', 'cli', 'pipeline']);
  await kind.selectOption('editor');
  await page.getByText('No runs match.').waitFor();
  await kind.selectOption('manual');
  await row.waitFor();
  await kind.selectOption('');
  await row.waitFor();
});
