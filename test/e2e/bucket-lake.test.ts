/**
 * A lake in a bucket, set up and run from the browser as a user does: the block settings panel
 * asks for a profile once the path is an s3:// URL, refuses paths Grimoire cannot honour (gs://,
 * a typo such as s3:/, a whole bucket) on the path field before anything is written, saves the
 * destination to metadata.yaml, and a run writes hive partitions to a real S3-compatible server
 * (s3rver, started here), which a second block reads back with {{ lake() }}.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type Page } from 'playwright-core';
import { parse } from 'yaml';
import { z } from 'zod';
import { startServer, type RunningServer } from '../../lib/server/start';
import { launchBrowser, newWidePage, signInWithLink } from '../support/browser';
import { block } from '../support/notebook-page';
import { testS3, type TestS3 } from '../support/s3-server';
import { writeProject } from '../support/write-project';

const SECRET = 'S3RVER';
let s3: TestS3;
let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let project: Awaited<ReturnType<typeof writeProject>>;
let page: Page;

const entries = z.object({ blocks: z.array(z.object({ uuid: z.string(), configuration: z.record(z.string(), z.unknown()).optional() })) });
const blockEntry = async (uuid: string) => entries.parse(parse(await readFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'utf8'))).blocks.find((b) => b.uuid === uuid);

before(async () => {
  s3 = await testS3(['lake']);
  project = await writeProject('buckets', {
    // The secret comes from the environment, as a profile should hold it.
    'io_config.yaml': `bucket:\n  AWS_ACCESS_KEY_ID: S3RVER\n  AWS_SECRET_ACCESS_KEY: "{{ env_var('E2E_S3_SECRET') }}"\n  AWS_REGION: us-east-1\n  AWS_ENDPOINT: ${s3.endpoint}\n`,
    'pipelines/p/metadata.yaml': [
      'blocks:',
      '  - { uuid: trips, type: data_loader, language: sql }',
      '  - { uuid: read_back, type: transformer, language: sql, upstream_blocks: [trips] }',
      '',
    ].join('\n'),
    'data_loaders/trips.sql': "SELECT range AS id, 'zone ' || (range % 3) AS zone, range * 1.5 AS fare FROM range(30)\n",
    'transformers/read_back.sql': "SELECT zone, count(*) AS trips FROM {{ lake('s3://lake/trips', profile='bucket') }} GROUP BY zone ORDER BY zone\n",
  });
  process.env.E2E_S3_SECRET = SECRET;
  server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: project.root, dev: false });
  browser = await launchBrowser();
  page = await newWidePage(browser.context);
  await signInWithLink(page, server);
  await page.goto(`${server.url}/projects/buckets/pipelines/p`);
  await page.getByTestId('editor-trips').locator('.monaco-editor').waitFor();
  await page.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await project?.cleanup();
  await s3?.stop();
});

const sidekick = () => page.getByRole('complementary', { name: 'Sidekick' });

test('the settings panel takes an s3:// path with its profile, refuses what it cannot write, and the run lands in the bucket', async () => {
  await block(page, 'trips').locator('header .name').click();
  await sidekick().getByRole('tab', { name: 'Block settings', exact: true }).click();
  const form = sidekick().getByRole('form', { name: 'Settings of trips' });
  await form.getByLabel('Destination type').selectOption('parquet');
  const pathField = form.getByLabel('Path', { exact: true });
  // A local folder needs no profile: the field is not there.
  await pathField.fill('lake/trips');
  assert.equal(await form.getByLabel('Profile').count(), 0);

  // Paths that would land somewhere else than the user means are refused on the field, unsaved.
  const refusals: [string, RegExp][] = [
    ['gs://lake/trips', /gs:\/\/ is not supported/],
    ['s3:/lake/trips', /did you mean s3:\/\/lake\/trips/],
    ['s3://lake', /a lake never takes a whole bucket/],
  ];
  for (const [bad, reason] of refusals) {
    await pathField.fill(bad);
    await form.getByRole('button', { name: 'Save settings' }).click();
    await sidekick().getByTestId('settings-error').filter({ hasText: reason }).waitFor();
    assert.equal(await pathField.getAttribute('aria-invalid'), 'true', `${bad} is marked on the path field`);
    assert.equal((await blockEntry('trips'))?.configuration, undefined, `${bad} wrote nothing`);
  }

  await pathField.fill('s3://lake/trips');
  await form.getByLabel('Profile').fill('bucket');
  await form.getByLabel('Partition by').fill('zone');
  await form.getByRole('button', { name: 'Save settings' }).click();
  await sidekick().getByRole('status').filter({ hasText: 'Saved to metadata.yaml' }).waitFor();
  assert.deepEqual((await blockEntry('trips'))?.configuration, {
    destination: { type: 'parquet', path: 's3://lake/trips', write_policy: 'replace', profile: 'bucket', partition_by: ['zone'] },
  });

  await page.getByRole('button', { name: 'Run pipeline' }).click();
  await page.getByTestId('status-read_back').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
  const console = (await block(page, 'trips').getByLabel('Console output of trips').textContent()) ?? '';
  assert.match(console, /exported 30 rows to s3:\/\/lake\/trips \(3 Parquet objects, replace, profile bucket\)/);

  // The objects are in the bucket, one hive folder per zone, and nothing was written locally.
  const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: SECRET } });
  const listed = await client.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: 'trips/' }));
  const folders = [...new Set((listed.Contents ?? []).map((o) => (o.Key ?? '').split('/')[1]))].sort();
  // DuckDB's hive layout escapes a space in a partition value, as it does in a local lake.
  assert.deepEqual(folders, ['zone=zone%200', 'zone=zone%201', 'zone=zone%202']);
  await assert.rejects(readFile(path.join(project.dir, 's3:')), /ENOENT/);

  // Read back from the bucket with the partition column, its value unescaped.
  assert.equal(await page.getByTestId('rowcount-read_back').textContent(), '3 rows × 2 columns');
  const cells = await page.getByRole('table', { name: 'Output of read_back' }).locator('tbody tr').first().locator('td').allTextContents();
  assert.deepEqual(cells.slice(-2), ['zone 0', '10']);
});
