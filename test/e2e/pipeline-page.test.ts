import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
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
  workspace = await browserWorkspace({ demo: 'projects/demo' });
  ({ server, projects, page } = workspace);
});

after(async () => workspace?.close());

test('the projects page lists the demo project and leads to its pipeline', async () => {
  await page.goto(server.url);
  await page.getByRole('link', { name: 'demo' }).click();
  await page.getByRole('link', { name: 'green_taxi_etl' }).click();
  await page.waitForURL(/\/projects\/demo\/pipelines\/green_taxi_etl$/);
  // The notebook loads the pipeline after the page shell.
  await page.getByRole('region', { name: 'Block clean_green_taxi' }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Block clean_green_taxi' }).count(), 1);
});

test('running a block streams its status, log and preview rows into the page', async () => {
  await page.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor();
  await page.getByRole('button', { name: 'Run block load_green_taxi' }).click();
  const table = page.getByRole('table', { name: 'Output of load_green_taxi' });
  await table.waitFor({ timeout: 60_000 });
  assert.match((await page.getByTestId('status-load_green_taxi').textContent()) ?? '', /completed/);
  assert.equal(await page.getByTestId('rowcount-load_green_taxi').textContent(), '266,855 rows × 20 columns');
  const headers = await table.getByRole('columnheader').allTextContents();
  assert.ok(headers.some((h) => h.startsWith('lpep_pickup_datetime') && h.includes('TIMESTAMP')), headers.join('|'));
  assert.equal(await table.locator('tbody tr').count(), 10);
  const logs = await page.getByRole('region', { name: 'Block load_green_taxi' }).locator('pre.logs').textContent();
  assert.match(logs ?? '', /reading 3 file\(s\)/);
});

test('a downstream block reuses the cached upstream output and a reload catches up', async () => {
  await page.getByRole('button', { name: 'Run block clean_green_taxi' }).click();
  await page.getByRole('table', { name: 'Output of clean_green_taxi' }).waitFor({ timeout: 30_000 });
  const count = await page.getByTestId('rowcount-clean_green_taxi').textContent();
  assert.match(count ?? '', /^1\d\d,\d{3} rows × 21 columns$/);
  await page.reload();
  await page.getByRole('table', { name: 'Output of clean_green_taxi' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('rowcount-clean_green_taxi').textContent(), count);
});

test('Run pipeline runs every block in order and the exporter writes the partitioned lake', async () => {
  await page.getByRole('button', { name: 'Run pipeline' }).click();
  await page.getByTestId('status-export_green_taxi_lake').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
  for (const block of ['load_green_taxi', 'clean_green_taxi']) {
    assert.match((await page.getByTestId(`status-${block}`).textContent()) ?? '', /completed/);
  }
  const partitions = await readdir(path.join(projects.root, 'demo', '.grimoire', 'lake', 'green_taxi'));
  assert.ok(partitions.includes('lpep_pickup_date=2020-10-01'), partitions.slice(0, 3).join(', '));
  assert.equal(partitions.length, 92);
});
