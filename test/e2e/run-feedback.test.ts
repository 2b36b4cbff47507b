/**
 * What a run tells the notebook, as a user sees it: the output preview that comes with a block's
 * completion is shown as is (the page does not ask the server for the first page again; later
 * pages do ask), and a run the server refuses says why in the banner above the notebook.
 * The socket's frames are read from the browser's side to count the questions it asks.
 */
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page, type WebSocket } from 'playwright-core';
import { z } from 'zod';
import { startServer, type RunningServer } from '../../lib/server/start';
import { CLIENT_EVENT, clientMessageSchema, SERVER_EVENT, serverMessageSchema, type ClientMessage, type ServerMessage } from '../../lib/protocol/messages';
import { launchBrowser, newWidePage, signInWithLink } from '../support/browser';
import { block } from '../support/notebook-page';
import { writeProject } from '../support/write-project';

let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let project: Awaited<ReturnType<typeof writeProject>>;
let page: Page;

/** Every message the page sent and received over socket.io, in order. */
const sent: ClientMessage[] = [];
const received: ServerMessage[] = [];

const PIPELINE = `blocks:
  - { uuid: orders, type: data_loader, language: sql }
  - { uuid: extra, type: transformer, language: sql, upstream_blocks: [orders] }
`;

before(async () => {
  project = await writeProject('shop', {
    'pipelines/p/metadata.yaml': PIPELINE,
    'pipelines/gone/metadata.yaml': PIPELINE,
    'data_loaders/orders.sql': "SELECT range AS id, 'order ' || range AS label FROM range(25)\n",
    'transformers/extra.sql': 'SELECT * FROM {{ df_1 }}\n',
    'transformers/late.sql': 'SELECT * FROM {{ df_1 }}\n',
  });
  server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: project.root, dev: false });
  browser = await launchBrowser();
  page = await newWidePage(browser.context);
  page.on('websocket', (ws) => watchFrames(ws));
  await signInWithLink(page, server);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await project?.cleanup();
});

/** socket.io's text frame of an event: `42["event", payload]` (the digits are its packet type). */
const eventFrame = z.tuple([z.string(), z.unknown()]);

function decode(payload: string | Buffer): { event: string; data: unknown } | null {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  const json = /^\d+(\[.*)$/s.exec(text)?.[1];
  if (!json) return null;
  const parsed = eventFrame.safeParse(JSON.parse(json));
  return parsed.success ? { event: parsed.data[0], data: parsed.data[1] } : null;
}

function watchFrames(ws: WebSocket): void {
  ws.on('framesent', ({ payload }) => {
    const frame = decode(payload);
    const m = frame?.event === CLIENT_EVENT ? clientMessageSchema.safeParse(frame.data) : null;
    if (m?.success) sent.push(m.data);
  });
  ws.on('framereceived', ({ payload }) => {
    const frame = decode(payload);
    const m = frame?.event === SERVER_EVENT ? serverMessageSchema.safeParse(frame.data) : null;
    if (m?.success) received.push(m.data);
  });
}

const questionsAbout = (b: string) => sent.flatMap((m) => (m.type === 'query_output' && m.block === b ? [m] : []));
const answersAbout = (b: string) => received.filter((m) => m.type === 'output_answer' && m.block === b);
const outputsOf = (b: string) => received.filter((m) => m.type === 'output' && m.block === b);

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const banner = () => page.locator('p.notice[role="alert"]');

test('the preview that arrives with a completion is shown without asking again; paging beyond it asks', async () => {
  await page.goto(`${server.url}/projects/shop/pipelines/p`);
  await page.getByTestId('editor-orders').locator('.monaco-editor').waitFor();
  await page.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor();
  // A block that never ran is asked about once when the page opens (it may have an output from
  // before): wait for that answer, so that only what follows the run is counted.
  await until('the page asked about orders and heard back', () => questionsAbout('orders').length > 0 && answersAbout('orders').length === questionsAbout('orders').length);
  const asked = questionsAbout('orders').length;

  await block(page, 'orders').getByRole('button', { name: 'Run block orders' }).click();
  await until('orders completed with its output', () => outputsOf('orders').length === 1);
  await page.getByTestId('rowcount-orders').filter({ hasText: '25 rows × 2 columns' }).waitFor();
  await page.getByTestId('range-orders').filter({ hasText: 'rows 1–10 of 25' }).waitFor();
  const table = page.getByRole('table', { name: 'Output of orders' });
  assert.equal(await table.locator('tbody tr').count(), 10);
  assert.equal(await table.locator('tbody tr').first().locator('td').nth(1).textContent(), 'order 0');
  // Time for a question the page should not ask.
  await page.waitForTimeout(1500);
  assert.deepEqual(questionsAbout('orders').slice(asked), [], 'the first page was asked for again after the run');

  await page.getByRole('navigation', { name: 'Pages of orders' }).getByRole('button', { name: 'Next page' }).click();
  await page.getByTestId('range-orders').filter({ hasText: 'rows 11–20 of 25' }).waitFor();
  assert.equal(await table.locator('tbody tr').first().locator('td').first().textContent(), '10');
  const paging = questionsAbout('orders').slice(asked);
  assert.equal(paging.length, 1);
  assert.equal(paging[0]?.query.kind === 'page' ? paging[0].query.offset : -1, 10);

  // Run again from the second page: the new output starts from its first page, the preview, unasked.
  await block(page, 'orders').getByRole('button', { name: 'Run block orders' }).click();
  await until('orders completed a second time', () => outputsOf('orders').length === 2);
  await page.getByTestId('range-orders').filter({ hasText: 'rows 1–10 of 25' }).waitFor();
  await page.waitForTimeout(1500);
  assert.equal(questionsAbout('orders').slice(asked).length, 1, 'a page was asked for after the second run');
});

test('a run the server refuses says why in the banner: a block no longer in the pipeline, a pipeline with problems', async () => {
  // Edited outside the editor (the open page does not know): the pipeline no longer has `extra`.
  await writeFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), 'blocks:\n  - { uuid: orders, type: data_loader, language: sql }\n');
  await block(page, 'extra').getByRole('button', { name: 'Run block extra' }).click();
  await banner().filter({ hasText: 'block "extra" is not in this pipeline' }).waitFor();
  await page.getByRole('button', { name: 'Dismiss message' }).click();
  await banner().waitFor({ state: 'detached' });

  await writeFile(path.join(project.dir, 'pipelines/p/metadata.yaml'), `${PIPELINE}  - { uuid: late, type: transformer, language: sql, upstream_blocks: [missing_one] }\n`);
  await page.getByRole('button', { name: 'Run pipeline' }).click();
  await banner().filter({ hasText: 'upstream block "missing_one" does not exist in this pipeline' }).waitFor();
  await page.getByRole('button', { name: 'Dismiss message' }).click();
});

test('a run of a pipeline that is gone says so in the banner', async () => {
  await page.goto(`${server.url}/projects/shop/pipelines/gone`);
  await page.getByTestId('editor-orders').locator('.monaco-editor').waitFor();
  await page.getByTestId('connection').filter({ hasText: 'kernel' }).waitFor();
  // Renamed away outside the editor while the page is open.
  await rename(path.join(project.dir, 'pipelines/gone'), path.join(project.dir, 'pipelines/gone_away'));
  await block(page, 'orders').getByRole('button', { name: 'Run block orders' }).click();
  await banner().filter({ hasText: 'pipeline "gone" not found in project shop' }).waitFor();
});
