import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GET as getRun } from '../../app/api/runs/[id]/route';
import { GET as getLogs } from '../../app/api/runs/[id]/logs/route';
import { GET as listRuns } from '../../app/api/runs/route';
import { GET as listBackfills, POST as postBackfill } from '../../app/api/runs/backfills/route';
import { GET as listTriggers, POST as postTrigger } from '../../app/api/projects/[project]/pipelines/[pipeline]/triggers/route';
import { PATCH as patchTrigger } from '../../app/api/projects/[project]/pipelines/[pipeline]/triggers/[trigger]/route';
import { POST as postRun } from '../../app/api/projects/[project]/pipelines/[pipeline]/triggers/[trigger]/runs/route';
import { postgresUrl } from '../../lib/db/embedded-postgres';
import { startOrchestration } from '../../lib/scheduler/orchestrator';
import { type Orchestration } from '../../lib/scheduler/slot';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { tempProjects } from '../support/projects';
import { gatePrincipalHeaders } from '../support/socket-access';

let pg: TestPostgres;
let projects: Awaited<ReturnType<typeof tempProjects>>;
let orch: Orchestration;

before(async () => {
  pg = await testPostgres();
  projects = await tempProjects({ orch: 'test/fixtures/projects/orchestration' });
  orch = await startOrchestration({ url: postgresUrl(pg.coordinates), schema: pg.schema, projectsDir: projects.root, kernelEnv: pg.env, log: () => undefined });
});
after(async () => {
  await orch?.close();
  await pg?.close();
  await projects?.cleanup();
});

const base = 'http://grimoire.test';
const params = <T extends Record<string, string>>(p: T) => ({ params: Promise.resolve(p) });
// As the access gate hands requests on: with the owner it signed in (tests of the gate are in test/e2e/access.test.ts).
const json = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
  new Request(`${base}${url}`, { method, headers: { 'content-type': 'application/json', ...gatePrincipalHeaders('owner'), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
const hello = { project: 'orch', pipeline: 'hello' };

async function body(res: Response): Promise<Record<string, unknown>> {
  const data: unknown = await res.json();
  assert.ok(data && typeof data === 'object' && !Array.isArray(data));
  return Object.fromEntries(Object.entries(data));
}

async function untilRun(id: string, done: (status: string) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const detail = await orch.store.runs.detail(id);
    if (detail && done(detail.run.status)) return detail;
    if (Date.now() > deadline) throw new Error(`run ${id} is still ${detail?.run.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let token = '';
let runId = '';

describe('API trigger', () => {
  test('creating an API trigger writes triggers.yaml and shows its token once', async () => {
    const res = await postTrigger(json('POST', '/api/projects/orch/pipelines/hello/triggers', { name: 'on_demand', schedule_type: 'api', variables: { who: 'trigger' } }), params(hello));
    assert.equal(res.status, 200);
    const b = await body(res);
    assert.equal(typeof b.token, 'string');
    token = String(b.token);
    const file = await readFile(path.join(projects.root, 'orch', 'pipelines', 'hello', 'triggers.yaml'), 'utf8');
    assert.match(file, /name: on_demand/);
    assert.match(file, /schedule_type: api/);
    assert.doesNotMatch(file, new RegExp(token), 'the token is never written to the file');
    const list = await body(await listTriggers(json('GET', '/x'), params(hello)));
    assert.match(JSON.stringify(list), /"has_token":true/);
    assert.doesNotMatch(JSON.stringify(list), new RegExp(token));
  });

  test('a wrong or missing token answers 401 and creates nothing', async () => {
    const url = '/api/projects/orch/pipelines/hello/triggers/on_demand/runs';
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer nope' }, { authorization: token }, { authorization: `Bearer ${token}x` }];
    for (const headers of attempts) {
      const res = await postRun(json('POST', url, { variables: {} }, headers), params({ ...hello, trigger: 'on_demand' }));
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(JSON.stringify((await body(res)).error), /"code":"unauthorized"/);
    }
    const unknown = await postRun(json('POST', url, {}, { authorization: `Bearer ${token}` }), params({ ...hello, trigger: 'nope' }));
    assert.equal(unknown.status, 401);
    assert.equal((await orch.store.runs.list({ project: 'orch' })).length, 0);
  });

  test('the right token answers 201 with the run, which starts within a second and completes', async () => {
    const res = await postRun(
      json('POST', '/api/projects/orch/pipelines/hello/triggers/on_demand/runs', { variables: { who: 'caller' } }, { authorization: `Bearer ${token}` }),
      params({ ...hello, trigger: 'on_demand' }),
    );
    assert.equal(res.status, 201);
    const b = await body(res);
    const run = b.run;
    assert.ok(run && typeof run === 'object' && 'id' in run && 'status' in run);
    runId = String(run.id);
    assert.equal(run.status, 'initial');
    const started = await untilRun(runId, (s) => s !== 'initial', 5000);
    const claimed = started.events.find((e) => e.block_uuid === null && e.status === 'running');
    assert.ok(claimed);
    assert.ok(claimed.at.getTime() - started.run.created_at.getTime() < 1000, `started ${claimed.at.getTime() - started.run.created_at.getTime()} ms after the call`);
    const done = await untilRun(runId, (s) => s === 'completed' || s === 'failed');
    assert.equal(done.run.status, 'completed');
  });

  test('GET /api/runs/<id> returns the run with its block runs; logs carry the runtime variables', async () => {
    const res = await getRun(json('GET', `/api/runs/${runId}`), params({ id: runId }));
    assert.equal(res.status, 200);
    const b = await body(res);
    assert.match(JSON.stringify(b.run), /"status":"completed"/);
    assert.match(JSON.stringify(b.run), /"kind":"api"/);
    assert.equal(b.trigger_name, 'on_demand');
    assert.ok(Array.isArray(b.blocks) && b.blocks.length === 2);
    const logs = await body(await getLogs(json('GET', `/api/runs/${runId}/logs?block=hello&q=who%3Dcaller`), params({ id: runId })));
    assert.ok(Array.isArray(logs.logs) && logs.logs.length === 1, JSON.stringify(logs));
    assert.match(JSON.stringify(logs.logs), /trigger=on_demand who=caller/);
    const missing = await getRun(json('GET', '/api/runs/nope'), params({ id: 'nope' }));
    assert.equal(missing.status, 404);
    assert.equal(b.waiting_for, null, 'a finished run waits for nothing');
  });

  test('a run waiting on a queue no worker serves says so on its page', async () => {
    // Not due for a day, so no worker takes its job meanwhile; then moved to a queue nobody serves.
    const run = await orch.store.runs.create({ project: 'orch', pipeline: 'hello', kind: 'manual', executionDate: new Date(), notBefore: new Date(Date.now() + 86_400_000) });
    assert.ok(run);
    await orch.store.pool.query(`UPDATE pipeline_runs SET queue = 'gpu' WHERE id = $1`, [run.id]);
    const b = await body(await getRun(json('GET', `/api/runs/${run.id}`), params({ id: run.id })));
    assert.match(String(b.waiting_for), /waiting for a worker on queue gpu: none is running \(start one with grimoire worker --queue gpu\)/);
    await orch.store.pool.query(`UPDATE pipeline_runs SET queue = 'default' WHERE id = $1`, [run.id]);
    const served = await body(await getRun(json('GET', `/api/runs/${run.id}`), params({ id: run.id })));
    assert.equal(served.waiting_for, null, 'the server runs a worker of the default queue');
    await orch.store.runs.requestCancel(run.id, new Date());
  });

  test('pausing changes only status in the file, and a paused trigger refuses runs', async () => {
    const file = path.join(projects.root, 'orch', 'pipelines', 'hello', 'triggers.yaml');
    const before = await readFile(file, 'utf8');
    const res = await patchTrigger(json('PATCH', '/x', { status: 'inactive' }), params({ ...hello, trigger: 'on_demand' }));
    assert.equal(res.status, 200);
    assert.equal(await readFile(file, 'utf8'), before.replace('status: active', 'status: inactive'));
    const refused = await postRun(json('POST', '/x', {}, { authorization: `Bearer ${token}` }), params({ ...hello, trigger: 'on_demand' }));
    assert.equal(refused.status, 409);
  });

  test('a hand edit of triggers.yaml reaches the scheduler within a second', async () => {
    const file = path.join(projects.root, 'orch', 'pipelines', 'hello', 'triggers.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, `${text.trimEnd()}\n  - name: by_hand\n    schedule_type: api\n    status: active\n`);
    const edited = Date.now();
    for (;;) {
      if (await orch.store.triggers.get('orch', 'hello', 'by_hand')) break;
      assert.ok(Date.now() - edited < 1000, `the trigger written by hand is not in the store after 1 s:\n${await readFile(file, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  });

  test('a time trigger must choose its catch-up policy', async () => {
    const res = await postTrigger(json('POST', '/x', { name: 'daily', schedule_type: 'time', schedule_interval: '@daily', start_time: '2024-01-01 05:00:00' }), params(hello));
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(await body(res)), /catch-up policy/);
    const ok = await postTrigger(json('POST', '/x', { name: 'daily', schedule_type: 'time', schedule_interval: '@daily', start_time: '2024-01-01 05:00:00', settings: { catch_up: 'none' } }), params(hello));
    assert.equal(ok.status, 200);
    const list = await body(await listTriggers(json('GET', '/x'), params(hello)));
    const daily = Array.isArray(list.triggers) ? list.triggers.find((t) => t && typeof t === 'object' && 'name' in t && t.name === 'daily') : null;
    assert.ok(daily && typeof daily === 'object' && 'next_run_at' in daily && 'explanation' in daily);
    assert.match(String(daily.next_run_at), /T05:00:00.000Z$/);
    assert.match(JSON.stringify(daily.explanation), /Next run/);
  });

  test("keys of a Mage triggers.yaml that Grimoire does not act on are named in the trigger's explanation", async () => {
    const file = path.join(projects.root, 'orch', 'pipelines', 'hello', 'triggers.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, `${text.trimEnd()}\n  - name: from_mage\n    schedule_type: api\n    status: active\n    envs: []\n    settings: { allow_blocks_to_fail: true }\n`);
    const list = await body(await listTriggers(json('GET', '/x'), params(hello)));
    const fromMage = Array.isArray(list.triggers) ? list.triggers.find((t) => t && typeof t === 'object' && 'name' in t && t.name === 'from_mage') : null;
    assert.ok(fromMage && typeof fromMage === 'object' && 'explanation' in fromMage, JSON.stringify(list));
    assert.match(JSON.stringify(fromMage.explanation), /triggers.yaml sets settings.allow_blocks_to_fail, which Grimoire does not act on/);
    assert.doesNotMatch(JSON.stringify(fromMage.explanation), /envs/);
  });

  test('runs list filters by pipeline, status and kind', async () => {
    const all = await body(await listRuns(json('GET', '/api/runs?project=orch&pipeline=hello&kind=api&status=completed')));
    assert.ok(Array.isArray(all.runs) && all.runs.length === 1);
    const bad = await listRuns(json('GET', '/api/runs?status=weird'));
    assert.equal(bad.status, 400);
  });

  test('skip_if_previous_running on an API trigger: a call while a run is unfinished answers 409 and creates nothing; two at once make one run', async () => {
    const created = await postTrigger(json('POST', '/x', { name: 'single', schedule_type: 'api', settings: { skip_if_previous_running: true } }), params(hello));
    assert.equal(created.status, 200);
    const single = String((await body(created)).token);
    const call = () => postRun(json('POST', '/x', { variables: {} }, { authorization: `Bearer ${single}` }), params({ ...hello, trigger: 'single' }));
    const trigger = await orch.store.triggers.get('orch', 'hello', 'single');
    assert.ok(trigger);
    // A previous run still running.
    const previous = await orch.store.runs.create({ project: 'orch', pipeline: 'hello', triggerId: trigger.id, kind: 'api', executionDate: new Date(), variables: {} });
    assert.ok(previous);
    await orch.store.runs.setStatus(previous.id, 'running', new Date());
    const skipped = await call();
    assert.equal(skipped.status, 409);
    assert.match(JSON.stringify(await body(skipped)), /skip_if_previous_running/);
    assert.equal((await orch.store.runs.list({ triggerId: trigger.id })).length, 1, 'nothing created');
    assert.match(JSON.stringify(await orch.store.triggers.events(trigger.id, 5)), /API call skipped: a previous run of this trigger was still running/);
    await orch.store.runs.setStatus(previous.id, 'completed', new Date());
    const both = await Promise.all([call(), call()]);
    assert.deepEqual(both.map((r) => r.status).sort(), [201, 409]);
    const started = (await orch.store.runs.list({ triggerId: trigger.id })).filter((r) => r.id !== previous.id);
    assert.equal(started.length, 1);
    await untilRun(started[0]?.id ?? '', (s) => s === 'completed' || s === 'failed');
  });

  test('an API call with ds or execution_date in its variables runs for that day; a bad date is refused', async () => {
    const created = await postTrigger(json('POST', '/x', { name: 'past_day', schedule_type: 'api' }), params(hello));
    const pastDay = String((await body(created)).token);
    const call = (variables: Record<string, string>) => postRun(json('POST', '/x', { variables }, { authorization: `Bearer ${pastDay}` }), params({ ...hello, trigger: 'past_day' }));
    const res = await call({ ds: '2022-08-18' });
    assert.equal(res.status, 201);
    const run = (await body(res)).run;
    const id = run && typeof run === 'object' && 'id' in run ? String(run.id) : '';
    const detail = await untilRun(id, (s) => s === 'completed' || s === 'failed');
    assert.equal(detail.run.execution_date.toISOString(), '2022-08-18T00:00:00.000Z');
    const logs = await orch.store.logs.list(id, { block: 'hello' });
    assert.ok(logs.some((l) => /ds=2022-08-18/.test(l.text)), logs.map((l) => l.text).join('\n'));
    const bad = await call({ execution_date: 'yesterday' });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(await body(bad)), /runtime variable execution_date must be a date and time/);
    // A trigger whose variables hold a default day: the call's own day replaces it whole.
    const withDefault = await postTrigger(json('POST', '/x', { name: 'default_day', schedule_type: 'api', variables: { ds: '2022-01-01' } }), params(hello));
    const defaultToken = String((await body(withDefault)).token);
    const other = await postRun(json('POST', '/x', { variables: { execution_date: '2022-03-01T00:00:00Z' } }, { authorization: `Bearer ${defaultToken}` }), params({ ...hello, trigger: 'default_day' }));
    assert.equal(other.status, 201, JSON.stringify(await other.clone().json()));
    const otherRun = (await body(other)).run;
    const otherId = otherRun && typeof otherRun === 'object' && 'id' in otherRun ? String(otherRun.id) : '';
    assert.equal((await untilRun(otherId, (s) => s === 'completed' || s === 'failed')).run.execution_date.toISOString(), '2022-03-01T00:00:00.000Z');
  });
});

describe('backfills', () => {
  test('a date range and an interval make one run per interval with interval variables, under a concurrency limit', async () => {
    const res = await postBackfill(
      json('POST', '/api/runs/backfills?project=orch&pipeline=hello', { name: 'q4', start_datetime: '2020-10-01 00:00:00', end_datetime: '2020-10-04 00:00:00', interval_unit: 'day', interval_value: 1, concurrency: 1 }),
    );
    assert.equal(res.status, 200, JSON.stringify(await res.clone().json()));
    const b = await body(res);
    assert.equal(b.runs, 3);
    const id = b.backfill && typeof b.backfill === 'object' && 'id' in b.backfill ? String(b.backfill.id) : '';
    let maxRunning = 0;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const progress = await orch.store.backfills.progress(id);
      maxRunning = Math.max(maxRunning, progress.running);
      if (progress.completed + progress.failed === 3) break;
      assert.ok(Date.now() < deadline, JSON.stringify(progress));
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(maxRunning, 1, 'concurrency 1');
    const runs = await orch.store.runs.list({ backfillId: id });
    assert.deepEqual(runs.map((r) => r.status), ['completed', 'completed', 'completed']);
    assert.deepEqual(runs.map((r) => r.variables.interval_start_datetime).sort(), ['2020-10-01T00:00:00.000Z', '2020-10-02T00:00:00.000Z', '2020-10-03T00:00:00.000Z']);
    const list = await body(await listBackfills(json('GET', '/api/runs/backfills?project=orch&pipeline=hello')));
    assert.match(JSON.stringify(list), /"status":"completed".*"progress":\{[^}]*"completed":3/);
  });
});
