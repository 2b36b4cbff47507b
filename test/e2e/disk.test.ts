/**
 * The disk page in a browser, against the real server (production build): reached from the top
 * navigation, it shows a pipeline's run outputs and logs, the project's retention settings, what
 * they would free, and an owner's "Sweep now" frees exactly that.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { orchestration } from '../../lib/scheduler/slot';
import { browserWorkspace, type BrowserWorkspace } from '../support/workspace';

let workspace: BrowserWorkspace | undefined;
let page: Page;
const runId = randomUUID();

before(async () => {
  workspace = await browserWorkspace({ orch: 'test/fixtures/projects/orchestration' }, { wide: true });
  page = workspace.page;
  const dir = path.join(workspace.projects.root, 'orch');
  await writeFile(path.join(dir, 'metadata.yaml'), "project_name: orchestration\nruns_retention_period: '30d'\n");
  // A failed run of 40 days ago, with its output folder (2 KiB) and one log line (5 bytes).
  const store = orchestration().store;
  await store.pool.query(
    `INSERT INTO pipeline_runs (id, project, pipeline, kind, execution_date, status, created_at, completed_at)
     VALUES ($1, 'orch', 'hello', 'manual', now() - interval '40 days', 'failed', now() - interval '40 days', now() - interval '40 days')`,
    [runId],
  );
  await store.logs.append([{ runId, block: 'load', attempt: 1, at: new Date(Date.now() - 40 * 86_400_000), stream: 'stdout', text: 'hello' }]);
  await mkdir(path.join(dir, '.grimoire', 'runs', runId, 'cache'), { recursive: true });
  await writeFile(path.join(dir, '.grimoire', 'runs', runId, 'cache', 'load.parquet'), Buffer.alloc(2048));
});

after(async () => {
  await workspace?.close();
});

test('the top navigation leads to the disk page: sizes per pipeline, the settings, and what retention would free', async () => {
  assert.ok(workspace);
  await page.goto(`${workspace.server.url}/`);
  await page.getByRole('navigation').getByRole('link', { name: 'Disk' }).click();
  await page.waitForURL(/\/disk$/);
  await page.getByRole('heading', { name: 'Disk', exact: true }).waitFor();
  const settings = page.getByRole('list', { name: 'Retention of orch' });
  await settings.getByText('runs_retention_period: 30d').waitFor();
  await settings.getByText('logs_retention_period: kept forever (not set)').waitFor();
  const hello = page.getByRole('table', { name: 'Disk of orch' }).getByRole('row').filter({ has: page.getByRole('cell', { name: 'hello', exact: true }) });
  await hello.getByRole('cell', { name: '2.0 KiB 1 folder' }).waitFor();
  await hello.getByRole('cell', { name: '5 B 1 line' }).waitFor();
  await hello.getByRole('cell', { name: '1 run: 2.0 KiB' }).waitFor();
});

test('an owner sweeps now: the run, its folder and its log go, and nothing is left to free', async () => {
  assert.ok(workspace);
  await page.getByRole('button', { name: 'Sweep now' }).click();
  await page.getByRole('status').filter({ hasText: 'Swept: freed 1 run: 2.0 KiB.' }).waitFor();
  await page.getByTestId('total-would-free').filter({ hasText: /^nothing$/ }).waitFor();
  assert.equal((await orchestration().store.pool.query('SELECT 1 FROM pipeline_runs WHERE id = $1', [runId])).rowCount, 0);
  await assert.rejects(stat(path.join(workspace.projects.root, 'orch', '.grimoire', 'runs', runId)));
});
