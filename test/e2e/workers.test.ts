/**
 * The workers page in a browser, against the real server (production build): reached from the top
 * navigation, it shows the server's own worker and a worker process started here, alive with their
 * host, pid and queues, and what the child runs now; after the child is killed with SIGKILL, the
 * server's worker finds it lost and moves its run, and the page (polling) marks it LOST with the
 * moved run linked to its run page.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { orchestration } from '../../lib/scheduler/slot';
import { type BrowserWorkspace } from '../support/workspace';

// A killed worker is found lost once its liveness lock is free and it has been silent this long.
// Short here, so the test does not wait out the 10 s default; read by the store's module when it
// loads, so set before the server (and the worker process, which inherits it) is started.
process.env.GRIMOIRE_HEARTBEAT_MS = '500';
process.env.GRIMOIRE_LOST_AFTER_SECONDS = '3';

let workspace: BrowserWorkspace | undefined;
let page: Page;
let child: ChildProcess | undefined;
let childId = '';
let runId = '';

function killGroup(c: ChildProcess): void {
  try {
    // The whole group: the worker and its standby kernel, as `kill -9` of the group would.
    process.kill(-(c.pid ?? 0), 'SIGKILL');
  } catch {
    // Already gone.
  }
}

before(async () => {
  // Imported here, after the environment above is set (a static import would load the store first).
  const { browserWorkspace } = await import('../support/workspace');
  workspace = await browserWorkspace({ orch: 'test/fixtures/projects/orchestration' }, { wide: true });
  page = workspace.page;
});

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) killGroup(child);
  await workspace?.close();
});

/** The table row of one process. */
const row = (id: string) => page.getByTestId(`worker-${id}`);

test('the top navigation leads to the workers page, which lists the server’s own worker alive', async () => {
  assert.ok(workspace);
  await page.goto(`${workspace.server.url}/`);
  await page.getByRole('navigation').getByRole('link', { name: 'Workers' }).click();
  await page.waitForURL(/\/workers$/);
  await page.getByRole('heading', { name: 'Workers' }).waitFor();
  const own = orchestration().worker;
  assert.ok(own, 'the server runs a worker in its process');
  const mine = row(own.id);
  await mine.waitFor();
  assert.equal(await mine.getAttribute('data-status'), 'alive');
  assert.equal(await mine.getByTestId('worker-status').textContent(), 'alive');
  assert.equal(await mine.getByTestId('worker-pid').textContent(), String(process.pid));
  assert.equal(await mine.getByTestId('worker-host').textContent(), os.hostname());
  assert.equal(await mine.getByTestId('worker-queues').textContent(), 'default');
  assert.match((await mine.getByTestId('worker-heartbeat').textContent()) ?? '', /^\d+ s ago$/);
  // The editor's server holds a row too (it drives the notebook's runs), listed alive.
  await page.locator('tbody tr[data-status="alive"]').filter({ has: page.getByRole('cell', { name: 'server', exact: true }) }).first().waitFor();
  await page.getByTestId('workers-summary').filter({ hasText: 'A live process silent for over 3 s is shown as late' }).waitFor();
});

test('a worker process started elsewhere appears alive with its host, pid and queues, and what it runs now', async () => {
  const store = orchestration().store;
  child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'support', 'worker-process.ts'), store.url, store.schema, workspace?.projects.root ?? ''], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = child;
  childId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker process did not get ready')), 60_000);
    let out = '';
    started.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /ready (\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    started.once('exit', (code, signal) => reject(new Error(`the worker process exited before it was ready (${signal ?? code})`)));
  });
  assert.equal(childId, `child-${started.pid}`);
  const theirs = row(childId);
  // No reload: the page asks again every few seconds.
  await theirs.waitFor({ timeout: 15_000 });
  assert.equal(await theirs.getAttribute('data-status'), 'alive');
  assert.equal(await theirs.getByTestId('worker-pid').textContent(), String(started.pid));
  assert.equal(await theirs.getByTestId('worker-host').textContent(), os.hostname());
  assert.equal(await theirs.getByTestId('worker-queues').textContent(), 'default');
  assert.equal(await theirs.getByTestId('worker-running').textContent(), '—');

  // A run this worker holds, as its claim leaves it: running, with its worker_id. Its queue is one
  // nobody serves, so that once moved it waits instead of being run by the server's worker.
  runId = randomUUID();
  await store.pool.query(
    `INSERT INTO pipeline_runs (id, project, pipeline, kind, execution_date, status, worker_id, attempt, started_at, queue)
     VALUES ($1, 'orch', 'hello', 'manual', now(), 'running', $2, 1, now(), 'e2e_nobody')`,
    [runId, childId],
  );
  const link = theirs.getByTestId('worker-running').getByRole('link', { name: `orch/hello ${runId.slice(0, 8)}` });
  await link.waitFor({ timeout: 15_000 });
  assert.equal(await link.getAttribute('href'), `/runs/${runId}`);
});

test('killed with SIGKILL, the worker is marked LOST by the server and the page links the run moved away from it', async () => {
  assert.ok(child && childId && runId);
  const exited = new Promise((r) => child?.once('exit', r));
  killGroup(child);
  await exited;
  const theirs = row(childId);
  await page.locator(`[data-testid="worker-${childId}"][data-status="lost"]`).waitFor({ timeout: 30_000 });
  assert.equal(await theirs.getByTestId('worker-status').textContent(), 'LOST');
  const moved = theirs.getByTestId('worker-moved');
  assert.match((await moved.textContent()) ?? '', /^1 run moved to other workers:/);
  const link = moved.getByRole('link', { name: runId.slice(0, 8) });
  assert.equal(await link.getAttribute('href'), `/runs/${runId}`);
  assert.equal(await theirs.getByTestId('worker-running').textContent(), '—', 'a lost worker runs nothing');
  // The store agrees with the page.
  const stored = (await orchestration().store.workers.list()).find((w) => w.id === childId);
  assert.equal(stored?.status, 'lost');
  assert.deepEqual(stored?.moved_runs, [runId]);
  // The summary counts it; the server's worker is still alive.
  await page.getByTestId('workers-summary').getByText('1 lost').waitFor();
  const own = orchestration().worker;
  assert.ok(own);
  assert.equal(await row(own.id).getAttribute('data-status'), 'alive');
  // The moved run's link opens its run page.
  await link.click();
  await page.waitForURL(new RegExp(`/runs/${runId}$`));
  await page.getByRole('heading', { name: `run ${runId.slice(0, 8)}` }).waitFor();
});
