/**
 * The run page's API for the block kinds, against real Postgres and runs made by a worker
 * (test/fixtures/projects/block_kinds): GET /api/runs/<id>?children=summary lists the run's own
 * block runs with a dynamic block's children counted; GET /api/runs/<id>/children pages them with
 * their attempts and transitions; condition_failed comes with its reason, a thrown callback and a
 * waiting sensor's last poke with their block runs. A run of 1,000 children stays quick to read.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GET as getRun } from '../../app/api/runs/[id]/route';
import { GET as getChildren } from '../../app/api/runs/[id]/children/route';
import { POST as startRun } from '../../app/api/runs/route';
import { postgresUrl } from '../../lib/db/embedded-postgres';
import { dataDirOf } from '../../lib/project/paths';
import { startOrchestration } from '../../lib/scheduler/orchestrator';
import { holdPresence, type Presence } from '../../lib/store/presence';
import { type Orchestration } from '../../lib/scheduler/slot';
import { blockRunNote } from '../../lib/ui/run-page';
import { childPageSchema, runReportSchema } from '../../components/runs/api';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { tempProjects } from '../support/projects';
import { gatePrincipalHeaders } from '../support/socket-access';

let pg: TestPostgres;
let projects: Awaited<ReturnType<typeof tempProjects>>;
let orch: Orchestration;

before(async () => {
  pg = await testPostgres();
  projects = await tempProjects({ kinds: 'test/fixtures/projects/block_kinds' });
  orch = await startOrchestration({ url: postgresUrl(pg.coordinates), schema: pg.schema, projectsDir: projects.root, kernelEnv: pg.env, log: () => undefined });
});
after(async () => {
  await orch?.close();
  await pg?.close();
  await projects?.cleanup();
});

const request = (method: string, url: string, body?: unknown) =>
  new Request(`http://grimoire.test${url}`, { method, headers: { 'content-type': 'application/json', ...gatePrincipalHeaders('viewer') }, body: body === undefined ? undefined : JSON.stringify(body) });
const params = (id: string) => ({ params: Promise.resolve({ id }) });

async function start(pipeline: string, variables: Record<string, unknown> = {}): Promise<string> {
  const res = await startRun(new Request('http://grimoire.test/api/runs', { method: 'POST', headers: { 'content-type': 'application/json', ...gatePrincipalHeaders('editor') }, body: JSON.stringify({ project: 'kinds', pipeline, variables }) }));
  assert.equal(res.status, 200, await res.clone().text());
  const body: unknown = await res.json();
  assert.ok(body && typeof body === 'object' && 'run' in body && body.run && typeof body.run === 'object' && 'id' in body.run);
  return String(body.run.id);
}

async function finished(id: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await orch.store.runs.get(id);
    if (run && ['completed', 'failed', 'cancelled'].includes(run.status)) return;
    if (Date.now() > deadline) throw new Error(`run ${id} is still ${run?.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function report(id: string, children: 'all' | 'summary' = 'summary') {
  const res = await getRun(request('GET', `/api/runs/${id}?children=${children}`), params(id));
  assert.equal(res.status, 200);
  // Read as the run page reads it: its own schema.
  return runReportSchema.parse(await res.json());
}

async function childPage(id: string, query: string) {
  const res = await getChildren(request('GET', `/api/runs/${id}/children?${query}`), params(id));
  assert.equal(res.status, 200, await res.clone().text());
  return childPageSchema.parse(await res.json());
}

describe('a dynamic block run as the run page reads it', () => {
  let runId = '';
  before(async () => {
    runId = await start('fan_out');
    await finished(runId);
  });

  test('the summary lists the run\'s own block runs; a fanned-out block counts its children by status', async () => {
    const r = await report(runId);
    assert.equal(r.run.status, 'completed');
    assert.deepEqual(r.blocks.map((b) => b.block_uuid), ['list_months', 'load_month', 'clean_month', 'summary']);
    const clean = r.blocks.find((b) => b.block_uuid === 'clean_month');
    assert.ok(clean);
    assert.deepEqual(clean.children, { total: 3, statuses: { completed: 3 } });
    assert.equal(clean.message, '3 of 3 children completed');
    assert.equal(blockRunNote(clean, new Date()), '3 children: 3 completed');
    assert.ok(r.attempts.every((a) => !a.block_uuid.includes(':')) && r.events.every((e) => !e.block_uuid?.includes(':')), 'children\'s attempts and transitions come with their page');
    assert.deepEqual(r.graph.find((g) => g.uuid === 'list_months'), { uuid: 'list_months', type: 'data_loader', upstream: [] });
    // The whole run, as the API has always given it: every block run, children too.
    const all = await report(runId, 'all');
    assert.equal(all.blocks.length, 10);
    assert.equal(all.blocks.find((b) => b.block_uuid === 'clean_month')?.children?.total, 3);
  });

  test('a page of children: each with its status, attempts and transitions; a failed attempt of a retried child kept with its error', async () => {
    const page = await childPage(runId, 'block=clean_month&limit=2');
    assert.equal(page.total, 3);
    assert.deepEqual(page.children.map((c) => c.block_uuid), ['clean_month:jan', 'clean_month:feb']);
    const feb = page.children[1];
    assert.equal(feb?.status, 'completed');
    assert.equal(feb?.attempts, 2);
    assert.equal(feb?.row_count, 1);
    const febAttempts = page.attempts.filter((a) => a.block_uuid === 'clean_month:feb');
    assert.deepEqual(febAttempts.map((a) => a.status), ['failed', 'completed']);
    assert.match(String(febAttempts[0]?.error?.message), /February is flaky the first time/);
    assert.ok(page.events.some((e) => e.block_uuid === 'clean_month:feb' && e.status === 'queued' && /retry 1 of 1/.test(e.message ?? '')));
    const next = await childPage(runId, 'block=clean_month&offset=2&limit=2');
    assert.deepEqual(next.children.map((c) => c.block_uuid), ['clean_month:mar']);
    const none = await childPage(runId, 'block=clean_month&status=failed');
    assert.equal(none.total, 0);
  });

  test('bad paging is refused with the reason', async () => {
    for (const query of ['block=clean_month&limit=500', 'block=clean_month:jan', 'block=clean_month&status=nope', 'offset=0']) {
      const res = await getChildren(request('GET', `/api/runs/${runId}/children?${query}`), params(runId));
      assert.equal(res.status, 400, query);
    }
    const missing = await getChildren(request('GET', '/api/runs/nope/children?block=x'), params('nope'));
    assert.equal(missing.status, 404);
    const badMode = await getRun(request('GET', `/api/runs/${runId}?children=some`), params(runId));
    assert.equal(badMode.status, 400);
  });
});

describe('conditionals, callbacks and sensors on the run page', () => {
  test('condition_failed comes with the conditional that said no; the run completed', async () => {
    const id = await start('conditions');
    await finished(id);
    const r = await report(id);
    assert.equal(r.run.status, 'completed');
    const skipped = r.blocks.find((b) => b.block_uuid === 'skipped');
    assert.ok(skipped);
    assert.equal(skipped.status, 'condition_failed');
    assert.equal(skipped.error, null, 'a skip is no failure');
    assert.equal(blockRunNote(skipped, new Date()), 'skipped: conditional never returned false');
    assert.equal(r.blocks.find((b) => b.block_uuid === 'after_skipped')?.message, 'an upstream block was skipped by its conditional');
  });

  test('a callback that threw is shown with its block run, which keeps its status', async () => {
    const id = await start('callbacks', { fast: true });
    await finished(id);
    const r = await report(id);
    const good = r.blocks.find((b) => b.block_uuid === 'good');
    assert.equal(good?.status, 'completed');
    assert.deepEqual(
      good?.callback_failures.map(({ callback, hook, message }) => ({ callback, hook, message })),
      [{ callback: 'broken', hook: 'onSuccess', message: 'Error: the webhook is down' }],
    );
    assert.deepEqual(r.blocks.find((b) => b.block_uuid === 'bad')?.callback_failures, []);
  });

  test('a running sensor shows its last poke as "waiting (poke N, next in Ns)"', async () => {
    const flag = path.join(dataDirOf(path.join(projects.root, 'kinds')), 'ready.flag');
    await fs.rm(flag, { force: true });
    const id = await start('sensors');
    const deadline = Date.now() + 30_000;
    let note: string | null = null;
    while (!note?.startsWith('waiting')) {
      assert.ok(Date.now() < deadline, 'the sensor never showed a poke');
      await new Promise((r) => setTimeout(r, 100));
      const sensor = (await report(id)).blocks.find((b) => b.block_uuid === 'wait_for_file');
      note = sensor ? blockRunNote(sensor, new Date()) : null;
    }
    assert.match(note, /^waiting \(poke \d+, next in [01]s\)$/);
    await fs.writeFile(flag, 'ok');
    await finished(id);
    const done = (await report(id)).blocks.find((b) => b.block_uuid === 'wait_for_file');
    assert.equal(done?.status, 'completed');
    assert.equal(done?.last_poke?.satisfied, true);
  });
});

describe('a run of 1,000 children', () => {
  const runId = randomUUID();
  const names = Array.from({ length: 1000 }, (_, i) => `child:${i}`);
  let owner: Presence | null = null;
  before(async () => {
    const store = orch.store;
    // A live owner: without its presence the server's worker would take the run for a dead process's and fail it.
    owner = await holdPresence({ url: store.url, workers: store.workers, ownerId: `test-${runId}`, kind: 'cli' });
    await store.runs.createLive({ id: runId, project: 'kinds', pipeline: 'fan_out', kind: 'cli', executionDate: new Date(), variables: {}, startedBy: null, ownerId: owner.ownerId, blocks: ['list', 'child', 'after'] });
    await store.blockRuns.add(runId, names);
    await store.blockRuns.setStatusMany(runId, names, 'queued', new Date());
    const at = new Date();
    for (const [i, n] of names.entries()) {
      await store.blockRuns.startAttempt(runId, n, 1, at);
      const failed = i % 100 === 7;
      await store.blockRuns.finishAttempt(runId, n, { attempt: 1, status: failed ? 'failed' : 'completed', at, durationMs: 5, error: failed ? { kind: 'exception', message: `child ${i} broke` } : null }, { status: failed ? 'failed' : 'completed', at, extra: { attempt: 1, rowCount: 1 } });
    }
    await store.logs.append(names.flatMap((n) => Array.from({ length: 20 }, (_, i) => ({ runId, block: n, attempt: 1, at, stream: 'stdout', text: `line ${i} of ${n}` }))));
  });
  after(async () => {
    await owner?.release();
  });

  test('the summary and a page of 50 are read in milliseconds and stay small; the whole run is the big one', async (t) => {
    const timed = async <T>(work: () => Promise<T>) => {
      await work();
      const started = performance.now();
      const result = await work();
      return { result, ms: performance.now() - started };
    };
    const summary = await timed(async () => (await getRun(request('GET', `/api/runs/${runId}?children=summary`), params(runId))).text());
    const page = await timed(async () => (await getChildren(request('GET', `/api/runs/${runId}/children?block=child&offset=950&limit=50`), params(runId))).text());
    const all = await timed(async () => (await getRun(request('GET', `/api/runs/${runId}`), params(runId))).text());
    t.diagnostic(`1,000 children: summary ${summary.ms.toFixed(1)} ms ${Math.round(summary.result.length / 1024)} KiB; page of 50 ${page.ms.toFixed(1)} ms ${Math.round(page.result.length / 1024)} KiB; whole run ${all.ms.toFixed(1)} ms ${Math.round(all.result.length / 1024)} KiB`);
    const s = runReportSchema.parse(JSON.parse(summary.result));
    assert.deepEqual(s.blocks.find((b) => b.block_uuid === 'child')?.children, { total: 1000, statuses: { completed: 990, failed: 10 } });
    const p = childPageSchema.parse(JSON.parse(page.result));
    assert.equal(p.children.length, 50);
    assert.equal(p.children[49]?.block_uuid, 'child:999');
    assert.ok(summary.result.length < 20_000 && page.result.length < 100_000, 'small answers');
    assert.ok(summary.ms < 500 && page.ms < 500, 'quick answers');
    const failed = await childPage(runId, 'block=child&status=failed');
    assert.equal(failed.total, 10);
    assert.deepEqual(failed.children.map((c) => c.block_uuid).slice(0, 2), ['child:7', 'child:107']);
  });
});
