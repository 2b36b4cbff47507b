/**
 * Retention against a real Postgres and real folders: the dry run's figures are exact, a sweep frees
 * exactly those (older finished runs with everything under them, older output folders, older log
 * lines), keeps running, waiting and recent runs, the lake, the caches and unknown folders; a project
 * with a wrong setting is left alone; two sweepers at once never both sweep nor delete anything twice;
 * and a schedule does not fire again for an execution whose run was swept.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { GET as getDisk } from '../../app/api/disk/route';
import { POST as postSweep } from '../../app/api/disk/sweep/route';
import { FakeClock } from '../../lib/clock';
import { parseTriggers } from '../../lib/pipeline/triggers';
import { addFreed, diskAnswerSchema, noneFreed, sweepAnswerSchema, type Freed, type ProjectDisk } from '../../lib/protocol/disk-api';
import { diskReport } from '../../lib/retention/disk-report';
import { RetentionSweeper, sweepProjects } from '../../lib/retention/sweeper';
import { startOrchestration } from '../../lib/scheduler/orchestrator';
import { checkCron } from '../../lib/scheduler/schedule';
import { Scheduler } from '../../lib/scheduler/scheduler';
import { type Store } from '../../lib/store/store';
import { gatePrincipalHeaders } from '../support/socket-access';
import { testStore } from '../support/store';
import { writeProject } from '../support/write-project';

let env: Awaited<ReturnType<typeof testStore>>;
let store: Store;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  env = await testStore();
  store = env.store;
});
after(async () => {
  for (const c of cleanups) await c();
  await env?.close();
});

const DAY = 86_400_000;
const NOW = new Date('2024-06-30T12:00:00Z');
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const tag = () => randomBytes(3).toString('hex');

/** A projects folder with the given projects (name -> project-relative files). */
async function projectsRoot(projects: Record<string, Record<string, string>>): Promise<string> {
  const [first, ...rest] = Object.entries(projects);
  if (!first) throw new Error('no project');
  const made = await writeProject(first[0], first[1]);
  cleanups.push(made.cleanup);
  for (const [name, files] of rest) await writeFiles(path.join(made.root, name), { 'metadata.yaml': `project_name: ${name}\n`, ...files });
  return made.root;
}

async function writeFiles(dir: string, files: Record<string, string>) {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
}

/** A file of `bytes` bytes at `<dir>/<rel>`. */
const bytesFile = (dir: string, rel: string, bytes: number) => writeFiles(dir, { [rel]: 'x'.repeat(bytes) });
const exists = (p: string) => stat(p).then(() => true, () => false);

interface FakeRun {
  id: string;
  project: string;
  pipeline: string;
  status: 'initial' | 'running' | 'completed' | 'failed' | 'cancelled';
  /** Days before NOW it finished (null: not finished) or, unfinished, was created. */
  days: number;
  backfillId?: string;
}

/** A run row as a worker leaves it, with a block run, an attempt, an event and pinned code under it. */
async function insertRun(r: FakeRun) {
  const finished = r.status === 'completed' || r.status === 'failed' || r.status === 'cancelled';
  const at = ago(r.days);
  await store.pool.query(
    `INSERT INTO pipeline_runs (id, project, pipeline, backfill_id, kind, execution_date, status, created_at, started_at, completed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $6, $8)`,
    [r.id, r.project, r.pipeline, r.backfillId ?? null, r.backfillId ? 'backfill' : 'manual', new Date(at.getTime() - 60_000), r.status, finished ? at : null],
  );
  const block = await store.pool.query<{ id: string }>(`INSERT INTO block_runs (run_id, block_uuid, position, status) VALUES ($1, 'load', 0, 'completed') RETURNING id`, [r.id]);
  await store.pool.query(`INSERT INTO block_run_attempts (block_run_id, attempt, status, started_at) VALUES ($1, 1, 'completed', $2)`, [block.rows[0]?.id, at]);
  await store.pool.query(`INSERT INTO run_events (run_id, status, at) VALUES ($1, $2, $3)`, [r.id, r.status, at]);
  await store.code.pin(r.id, [{ path: 'data_loaders/load.ts', content: `// ${r.pipeline}\n` }]);
}

/** Log lines of a run, each printed `days` before NOW; returns their bytes (UTF-8). */
async function insertLogs(runId: string, lines: { days: number; text: string }[]): Promise<number> {
  await store.logs.append(lines.map((l) => ({ runId, block: 'load', attempt: 1, at: ago(l.days), stream: 'stdout', text: l.text })));
  return lines.reduce((n, l) => n + Buffer.byteLength(l.text), 0);
}

const amount = (items: number, bytes: number) => ({ items, bytes });
const freed = (f: Partial<Freed>): Freed => ({ ...noneFreed(), ...f });
const project = (projects: readonly ProjectDisk[], name: string) => {
  const p = projects.find((x) => x.project === name);
  assert.ok(p, `project ${name} in the report`);
  return p;
};
const count = async (sql: string, ids: string[]) => Number((await store.pool.query<{ n: string }>(sql, [ids])).rows[0]?.n);

test('dry run figures are exact, and a sweep frees exactly them: older finished runs, folders and lines; never the rest', async () => {
  const t = tag();
  const id = (name: string) => `${name}-${t}`;
  const P = `retain_${t}`;
  const KEEP = `keep_${t}`;
  const TYPO = `typo_${t}`;
  const pipelineYaml = (name: string, blocks: string) => `name: ${name}\nuuid: ${name}\ntype: batch\nblocks:\n${blocks}`;
  const root = await projectsRoot({
    [P]: {
      'metadata.yaml': `project_name: ${P}\nvariables_retention_period: '3d'\nlogs_retention_period: 7d\nruns_retention_period: '30d'\n`,
      'pipelines/etl/metadata.yaml': pipelineYaml(
        'etl',
        [
          '  - { uuid: load, type: data_loader, language: typescript, upstream_blocks: [], configuration: {} }',
          "  - { uuid: to_lake, type: data_exporter, language: sql, upstream_blocks: [load], configuration: { destination: { type: parquet, path: './lake/trips/' } } }",
          "  - { uuid: to_outside, type: data_exporter, language: sql, upstream_blocks: [load], configuration: { destination: { type: parquet, path: '../outside_lake' } } }",
          "  - { uuid: to_s3, type: data_exporter, language: sql, upstream_blocks: [load], configuration: { destination: { type: parquet, path: 's3://bucket/trips' } } }",
          '',
        ].join('\n'),
      ),
      'pipelines/other/metadata.yaml': pipelineYaml('other', '  - { uuid: load, type: data_loader, language: typescript, upstream_blocks: [], configuration: {} }\n'),
    },
    [KEEP]: {},
    [TYPO]: { 'metadata.yaml': `project_name: ${TYPO}\nruns_retention_period: 30\nlogs_retention_period: '1x'\n` },
  });
  const dir = path.join(root, P);
  const runFolder = (runId: string, projectDir = dir) => path.join(projectDir, '.grimoire', 'runs', runId);
  const backfill = `bf-${t}`;
  await store.pool.query(
    `INSERT INTO backfills (id, project, pipeline, name, start_datetime, end_datetime, interval_unit, interval_value, concurrency, status) VALUES ($1, $2, 'etl', 'b', $3, $3, 'day', 1, 1, 'running')`,
    [backfill, P, ago(50)],
  );
  const runs: FakeRun[] = [
    { id: id('r1'), project: P, pipeline: 'etl', status: 'completed', days: 40 },
    { id: id('r2'), project: P, pipeline: 'etl', status: 'failed', days: 35 },
    { id: id('r3'), project: P, pipeline: 'etl', status: 'failed', days: 10 },
    { id: id('r4'), project: P, pipeline: 'etl', status: 'cancelled', days: 1 },
    { id: id('r5'), project: P, pipeline: 'etl', status: 'running', days: 60 },
    { id: id('r6'), project: P, pipeline: 'etl', status: 'initial', days: 90 },
    { id: id('r7'), project: P, pipeline: 'etl', status: 'failed', days: 45, backfillId: backfill },
    { id: id('o1'), project: P, pipeline: 'other', status: 'completed', days: 31 },
    { id: id('o2'), project: P, pipeline: 'other', status: 'completed', days: 5 },
    { id: id('k1'), project: KEEP, pipeline: 'etl', status: 'failed', days: 400 },
    { id: id('t1'), project: TYPO, pipeline: 'etl', status: 'failed', days: 400 },
  ];
  for (const r of runs) await insertRun(r);
  // Output folders: r1..r7 with (n * 1000) bytes; one of a run the store does not know.
  for (const n of [1, 2, 3, 4, 5, 6, 7]) await bytesFile(runFolder(id(`r${n}`)), 'cache/load.parquet', n * 1000);
  await bytesFile(runFolder(`ghost-${t}`), 'cache/load.parquet', 500);
  await bytesFile(runFolder(id('k1'), path.join(root, KEEP)), 'cache/load.parquet', 900);
  await bytesFile(runFolder(id('t1'), path.join(root, TYPO)), 'cache/load.parquet', 900);
  // Caches and lakes: measured, never swept.
  await bytesFile(dir, '.grimoire/cache/users/u1/etl/load.parquet', 100);
  await bytesFile(dir, '.grimoire/block-cache/etl/load.abc.parquet', 50);
  await bytesFile(dir, 'lake/trips/part_1.parquet', 800);
  await bytesFile(root, 'outside_lake/part_1.parquet', 300);

  // Logs: bytes are UTF-8 (é is two).
  const log = {
    r1: await insertLogs(id('r1'), [{ days: 40, text: 'loaded 10 rows' }, { days: 40, text: 'héllo' }]),
    r2: await insertLogs(id('r2'), [{ days: 35, text: 'boom' }]),
    r3old: await insertLogs(id('r3'), [{ days: 10, text: 'old line one' }, { days: 8, text: 'old line two é' }]),
    r3new: await insertLogs(id('r3'), [{ days: 1, text: 'a line of the last day' }]),
    r4: await insertLogs(id('r4'), [{ days: 1, text: 'cancelled' }]),
    r5: await insertLogs(id('r5'), [{ days: 60, text: 'still running after 60 days' }]),
    r7: await insertLogs(id('r7'), [{ days: 45, text: 'backfill day' }]),
    o1: await insertLogs(id('o1'), [{ days: 31, text: 'other old run' }]),
    o2old: await insertLogs(id('o2'), [{ days: 8, text: 'eight days ago' }]),
    o2new: await insertLogs(id('o2'), [{ days: 6, text: 'six days ago' }]),
    k1: await insertLogs(id('k1'), [{ days: 400, text: 'kept forever' }]),
  };

  const expected = new Map<string, Freed>([
    // r1, r2: runs older than 30 d, with their logs and folders; r7 belongs to a running backfill.
    // r3, r7: output folders of finished runs older than 3 d. Lines older than 7 d of the runs left.
    ['etl', freed({ runs: amount(2, log.r1 + 1000 + log.r2 + 2000), variables: amount(2, 3000 + 7000), logs: amount(3, log.r3old + log.r7) })],
    ['other', freed({ runs: amount(1, log.o1), logs: amount(1, log.o2old) })],
  ]);
  const total = [...expected.values()].reduce(addFreed, noneFreed());

  const report = await diskReport({ store, projectsDir: root, now: NOW, sweepEveryMs: null });
  const p = project(report.projects, P);
  assert.deepEqual(p.settings, {
    variables_retention_period: { text: '3d', ms: 3 * DAY },
    logs_retention_period: { text: '7d', ms: 7 * DAY },
    runs_retention_period: { text: '30d', ms: 30 * DAY },
  });
  const etl = p.pipelines.find((x) => x.pipeline === 'etl');
  const other = p.pipelines.find((x) => x.pipeline === 'other');
  assert.ok(etl && other);
  assert.equal(etl.runs, 7);
  assert.deepEqual(etl.outputs, { folders: 7, bytes: 28_000, files: 7 });
  assert.deepEqual(etl.logs, { lines: 9, bytes: log.r1 + log.r2 + log.r3old + log.r3new + log.r4 + log.r5 + log.r7 });
  assert.deepEqual(etl.caches, { editor: 100, block: 50 });
  assert.deepEqual(etl.lake, [
    { block: 'to_lake', path: './lake/trips/', where: 'project', bytes: 800, files: 1 },
    { block: 'to_outside', path: '../outside_lake', where: 'outside', bytes: null, files: null },
    { block: 'to_s3', path: 's3://bucket/trips', where: 'object_storage', bytes: null, files: null },
  ]);
  assert.deepEqual(etl.wouldFree, expected.get('etl'));
  assert.deepEqual(other.wouldFree, expected.get('other'));
  assert.deepEqual(other.logs, { lines: 3, bytes: log.o1 + log.o2old + log.o2new });
  assert.deepEqual(p.unknownOutputs, { folders: 1, bytes: 500 });
  assert.deepEqual(p.totals, { outputs: 28_500, logs: etl.logs.bytes + other.logs.bytes, caches: 150, lake: 800, wouldFree: total });
  const keep = project(report.projects, KEEP);
  assert.deepEqual(keep.settings, { variables_retention_period: null, logs_retention_period: null, runs_retention_period: null });
  assert.deepEqual(keep.totals.wouldFree, noneFreed());
  const typo = project(report.projects, TYPO);
  assert.equal(typo.settings, null);
  assert.equal(typo.settingsErrors.length, 2);
  assert.match(typo.settingsErrors.join('\n'), /runs_retention_period is 30:/);
  assert.match(typo.settingsErrors.join('\n'), /logs_retention_period is "1x"/);

  const answer = await new RetentionSweeper({ store, projectsDir: root, clock: new FakeClock(NOW) }).sweepOnce();
  assert.equal(answer.swept, true);
  const swept = answer.projects.find((x) => x.project === P);
  assert.ok(swept);
  assert.deepEqual(new Map(swept.pipelines.map((x) => [x.pipeline, x.freed])), expected);
  assert.deepEqual(swept.freed, total);
  assert.deepEqual(answer.projects.find((x) => x.project === TYPO)?.errors.length, 2);
  assert.equal(answer.projects.find((x) => x.project === KEEP), undefined, 'a project without settings has nothing to do');

  // Exactly the expired runs went, with everything under them.
  const gone = [id('r1'), id('r2'), id('o1')];
  const kept = runs.map((r) => r.id).filter((r) => !gone.includes(r));
  assert.deepEqual((await store.pool.query<{ id: string }>('SELECT id FROM pipeline_runs WHERE id = ANY($1) ORDER BY id', [runs.map((r) => r.id)])).rows.map((r) => r.id), [...kept].sort());
  for (const table of ['block_runs', 'run_events', 'run_logs', 'run_code']) assert.equal(await count(`SELECT count(*) AS n FROM ${table} WHERE run_id = ANY($1)`, gone), 0, table);
  assert.equal(await count('SELECT count(*) AS n FROM block_run_attempts a JOIN block_runs b ON b.id = a.block_run_id WHERE b.run_id = ANY($1)', kept), kept.length);
  // Folders: r1, r2 (runs), r3, r7 (variables) gone; the rest, the caches and the lakes stay.
  for (const n of [1, 2, 3, 7]) assert.equal(await exists(runFolder(id(`r${n}`))), false, `r${n}`);
  for (const n of [4, 5, 6]) assert.equal(await exists(runFolder(id(`r${n}`))), true, `r${n}`);
  for (const place of [runFolder(`ghost-${t}`), runFolder(id('k1'), path.join(root, KEEP)), runFolder(id('t1'), path.join(root, TYPO))]) assert.equal(await exists(place), true, place);
  assert.equal((await stat(path.join(dir, 'lake/trips/part_1.parquet'))).size, 800);
  assert.equal((await stat(path.join(root, 'outside_lake/part_1.parquet'))).size, 300);
  assert.equal(await exists(path.join(dir, '.grimoire/cache/users/u1/etl/load.parquet')), true);
  assert.equal(await exists(path.join(dir, '.grimoire/block-cache/etl/load.abc.parquet')), true);
  // Log lines: the recent ones, and those of unfinished runs or other projects, remain.
  const lines = (await store.pool.query<{ text: string }>('SELECT text FROM run_logs WHERE run_id = ANY($1) ORDER BY text', [runs.map((r) => r.id)])).rows.map((r) => r.text);
  assert.deepEqual(lines, ['a line of the last day', 'cancelled', 'kept forever', 'six days ago', 'still running after 60 days'].sort());

  // Nothing is left to free: a second sweep and a second dry run find nothing.
  const again = await sweepProjects({ store, projectsDir: root, now: NOW, dryRun: false });
  assert.deepEqual(again.find((x) => x.project === P)?.freed, noneFreed());
  const after = project((await diskReport({ store, projectsDir: root, now: NOW, sweepEveryMs: null })).projects, P);
  assert.deepEqual(after.totals.wouldFree, noneFreed());
  assert.equal(after.totals.outputs, 4000 + 5000 + 6000 + 500);
});

test('two sweepers at once: exactly one sweeps, the other skips; nothing is deleted twice', async () => {
  const t = tag();
  const P = `race_${t}`;
  const root = await projectsRoot({ [P]: { 'metadata.yaml': `project_name: ${P}\nruns_retention_period: 1d\nvariables_retention_period: 1d\n` } });
  const seed = async (n: number, prefix: string) => {
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const runId = `${prefix}${i}-${t}`;
      await insertRun({ id: runId, project: P, pipeline: 'p', status: i % 2 === 0 ? 'completed' : 'failed', days: 2 + i });
      bytes += await insertLogs(runId, [{ days: 2 + i, text: `line ${i}` }]);
      await bytesFile(path.join(root, P, '.grimoire', 'runs', runId), 'cache/load.parquet', 100);
      bytes += 100;
    }
    return bytes;
  };
  const other = await env.open();

  // Held: A holds the lock while B tries.
  const bytes = await seed(6, 'a');
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const a = new RetentionSweeper({ store, projectsDir: root, clock: new FakeClock(NOW), onLocked: () => (holding(), released) });
  const b = new RetentionSweeper({ store: other, projectsDir: root, clock: new FakeClock(NOW) });
  const first = a.sweepOnce();
  await held;
  const skipped = await b.sweepOnce();
  assert.deepEqual({ swept: skipped.swept, reason: skipped.reason, freed: skipped.freed }, { swept: false, reason: 'another server is sweeping now', freed: noneFreed() });
  release();
  const done = await first;
  assert.equal(done.swept, true);
  assert.deepEqual(done.freed.runs, amount(6, bytes));
  // The lock was given back: B sweeps now (nothing left).
  assert.deepEqual((await b.sweepOnce()).freed, noneFreed());

  // Free-running: rounds of four sweeps on two servers at once; every run is freed exactly once.
  for (let round = 0; round < 5; round++) {
    const seeded = await seed(8, `r${round}x`);
    const answers = await Promise.all([a.sweepOnce(), b.sweepOnce(), a.sweepOnce(), b.sweepOnce()]);
    assert.ok(answers.some((x) => x.swept), `round ${round}: someone swept`);
    const sum = answers.reduce((s, x) => addFreed(s, x.freed), noneFreed());
    assert.deepEqual(sum.runs, amount(8, seeded), `round ${round}`);
    assert.equal(await count(`SELECT count(*) AS n FROM pipeline_runs WHERE project = ANY($1)`, [P]), 0);
  }
});

test('a schedule does not fire again for an execution whose run was swept', async () => {
  const t = tag();
  const P = `sched_${t}`;
  const root = await projectsRoot({ [P]: { 'metadata.yaml': `project_name: ${P}\nruns_retention_period: 1d\n` } });
  const parsed = parseTriggers('triggers:\n  - name: daily\n    schedule_interval: "@daily"\n    start_time: 2024-01-01 05:00:00\n    settings: { catch_up: latest }\n', checkCron);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const clock = new FakeClock('2024-01-01T00:00:00Z');
  const [trigger] = await store.triggers.sync(P, 'daily_pipeline', parsed.value, clock.now());
  assert.ok(trigger);
  const scheduler = new Scheduler(store, { clock });
  await scheduler.tick();
  clock.set('2024-01-01T05:00:00.200Z');
  const [run] = await scheduler.tick();
  assert.ok(run);
  await store.runs.setStatus(run.id, 'completed', clock.now());

  // Swept as if two days later (the sweeper's own clock); the scheduler's clock has not moved.
  const answer = await new RetentionSweeper({ store, projectsDir: root, clock: new FakeClock('2024-01-03T06:00:00Z') }).sweepOnce();
  assert.deepEqual(answer.projects.find((x) => x.project === P)?.freed.runs.items, 1);
  const execution = new Date('2024-01-01T05:00:00Z');
  assert.deepEqual(await store.runs.ofTriggerAt(trigger.id, execution), []);
  // The same instant again, a restarted scheduler, later that day: the swept execution is not run again.
  assert.deepEqual(await scheduler.tick(), []);
  assert.deepEqual(await new Scheduler(store, { clock }).tick(), []);
  clock.set('2024-01-01T23:00:00Z');
  assert.deepEqual(await scheduler.tick(), []);
  assert.deepEqual(await store.runs.ofTriggerAt(trigger.id, execution), []);
  // The next execution fires as ever.
  clock.set('2024-01-02T05:00:00.200Z');
  const next = await scheduler.tick();
  assert.deepEqual(next.map((r) => r.execution_date.toISOString()), ['2024-01-02T05:00:00.000Z']);
  await store.triggers.sync(P, 'daily_pipeline', [], clock.now());
});

test('a metadata.yaml that is not YAML is named, and the project is not swept', async () => {
  const t = tag();
  const P = `broken_${t}`;
  const root = await projectsRoot({ [P]: { 'metadata.yaml': 'project_name: [unclosed\n' } });
  await insertRun({ id: `b1-${t}`, project: P, pipeline: 'p', status: 'failed', days: 400 });
  const [swept] = await sweepProjects({ store, projectsDir: root, now: NOW, dryRun: false });
  assert.equal(swept?.project, P);
  assert.match(swept?.errors[0] ?? '', /metadata\.yaml is not valid YAML/);
  assert.equal(await count('SELECT count(*) AS n FROM pipeline_runs WHERE id = ANY($1)', [`b1-${t}`]), 1);
  // The YAML module agrees that it is broken (the fixture is what it claims).
  assert.throws(() => parseYaml('project_name: [unclosed\n'));
});

test('the disk routes, and the orchestration sweeping by itself (scheduler role only)', async () => {
  const t = tag();
  const P = `api_${t}`;
  const root = await projectsRoot({ [P]: { 'metadata.yaml': `project_name: ${P}\nruns_retention_period: 1h\n` } });
  const request = (method: string, body?: unknown) =>
    new Request('http://grimoire.test/api/disk/sweep', { method, headers: { 'content-type': 'application/json', ...gatePrincipalHeaders('owner') }, body: body === undefined ? undefined : JSON.stringify(body) });
  const oldRun = async (runId: string) => {
    await store.pool.query(
      `INSERT INTO pipeline_runs (id, project, pipeline, kind, execution_date, status, created_at, completed_at) VALUES ($1, $2, 'p', 'manual', now() - interval '3 hours', 'completed', now() - interval '3 hours', now() - interval '2 hours')`,
      [runId, P],
    );
    await insertLogs(runId, [{ days: 0, text: 'done' }]);
  };

  // Routes: a long interval, so only the API sweeps here.
  let orch = await startOrchestration({ url: env.url, schema: env.pg.schema, projectsDir: root, roles: { scheduler: true, worker: false }, retentionSweepMs: 3_600_000, log: () => undefined });
  try {
    await oldRun(`api1-${t}`);
    const disk = diskAnswerSchema.parse(await (await getDisk()).json());
    assert.equal(disk.sweepEveryMs, 3_600_000);
    assert.deepEqual(project(disk.projects, P).totals.wouldFree.runs, amount(1, 4));
    const bad = await postSweep(request('POST', { now: true }));
    assert.equal(bad.status, 400);
    const answer = sweepAnswerSchema.parse(await (await postSweep(request('POST', {}))).json());
    assert.equal(answer.swept, true);
    assert.deepEqual(answer.projects.find((x) => x.project === P)?.freed.runs, amount(1, 4));
  } finally {
    await orch.close();
  }
  // A worker-only process never sweeps.
  orch = await startOrchestration({ url: env.url, schema: env.pg.schema, projectsDir: root, roles: { scheduler: false, worker: false }, log: () => undefined });
  assert.equal(orch.retention, null);
  await orch.close();

  // The loop: a run past its period goes without anyone asking.
  orch = await startOrchestration({ url: env.url, schema: env.pg.schema, projectsDir: root, roles: { scheduler: true, worker: false }, retentionSweepMs: 100, log: () => undefined });
  try {
    await oldRun(`api2-${t}`);
    const deadline = Date.now() + 10_000;
    while ((await count('SELECT count(*) AS n FROM pipeline_runs WHERE id = ANY($1)', [`api2-${t}`])) > 0) {
      assert.ok(Date.now() < deadline, 'the orchestration swept within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await orch.close();
  }
});
