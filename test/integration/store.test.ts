import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseTriggers } from '../../lib/pipeline/triggers';
import { checkCron } from '../../lib/scheduler/schedule';
import { type Store } from '../../lib/store/store';
import { testStore } from '../support/store';

let env: Awaited<ReturnType<typeof testStore>>;
let store: Store;

before(async () => {
  env = await testStore();
  store = env.store;
});
after(async () => env?.close());

const triggers = (text: string) => {
  const r = parseTriggers(text, checkCron);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
};

describe(`metadata store (${process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'embedded PostgreSQL'})`, () => {
  test('migrations are versioned and applying them again changes nothing', async () => {
    assert.deepEqual(await store.appliedMigrations(), [1, 2, 3]);
    assert.deepEqual(await store.migrate(), []);
    const second = await env.open();
    assert.deepEqual(await second.appliedMigrations(), [1, 2, 3]);
  });

  test('triggers sync from triggers.yaml: edits keep scheduler state, removed ones stop firing', async () => {
    const now = new Date('2024-01-01T00:00:00Z');
    const [daily] = await store.syncTriggers('p', 'etl', triggers('triggers:\n  - name: daily\n    schedule_interval: "@daily"\n    start_time: 2024-01-01 05:00:00\n  - name: api\n    schedule_type: api\n'), now);
    assert.ok(daily);
    assert.equal(daily.next_check_at?.toISOString(), now.toISOString());
    await store.tx((c) => store.advanceTrigger(c, daily.id, new Date('2024-01-01T05:00:00Z'), new Date('2024-01-02T05:00:00Z'), now));
    const later = new Date('2024-01-01T06:00:00Z');
    const [again] = await store.syncTriggers('p', 'etl', triggers('triggers:\n  - name: daily\n    schedule_interval: "@daily"\n    start_time: 2024-01-01 05:00:00\n    variables: { a: 1 }\n'), later);
    assert.equal(again?.id, daily.id);
    assert.equal(again?.cursor_execution_date?.toISOString(), '2024-01-01T05:00:00.000Z');
    assert.equal(again?.next_check_at?.toISOString(), '2024-01-02T05:00:00.000Z', 'a variables edit does not reschedule');
    assert.deepEqual(again?.variables, { a: 1 });
    assert.deepEqual((await store.listTriggers({ project: 'p' })).map((t) => t.name), ['daily']);
    assert.equal((await store.getTrigger('p', 'etl', 'api'))?.in_file, false);
  });

  test('a scheduled execution is created once, however many ask at the same time', async () => {
    const t = await store.getTrigger('p', 'etl', 'daily');
    assert.ok(t);
    const executionDate = new Date('2024-01-03T05:00:00Z');
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () => store.createRun({ project: 'p', pipeline: 'etl', triggerId: t.id, kind: 'scheduled', executionDate })),
    );
    assert.equal(attempts.filter((r) => r !== null).length, 1);
    assert.equal((await store.runsOfTriggerAt(t.id, executionDate)).length, 1);
    // API runs of the same trigger at the same instant are separate runs.
    const api = await Promise.all([1, 2].map(() => store.createRun({ project: 'p', pipeline: 'etl', triggerId: t.id, kind: 'api', executionDate })));
    assert.ok(api.every((r) => r !== null));
  });

  test('concurrent claims never take the same run (FOR UPDATE SKIP LOCKED), and every run has a pg-boss job', async () => {
    const other = await env.open();
    const before = await store.queue.pending();
    const runs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await store.createRun({ project: 'q', pipeline: 'x', kind: 'manual', executionDate: new Date() });
      if (r) runs.push(r.id);
    }
    assert.equal(await store.queue.pending(), before + 6, 'one job per created run, written with it');
    const claimed: string[] = [];
    const now = new Date();
    // Four claimers, as if each had fetched a job for every run.
    await Promise.all(
      [store, other, store, other].map(async (s, w) => {
        for (const id of runs) {
          const r = await s.claimRun(id, `w${w}`, now);
          if (r) claimed.push(r.id);
        }
      }),
    );
    assert.deepEqual([...claimed].sort(), [...runs].sort());
  });

  test('a run held by its trigger run limit gets a job when the running one finishes; idle runs are swept', async () => {
    const [t] = await store.syncTriggers('lim', 'etl', triggers('triggers:\n  - name: api\n    schedule_type: api\n    settings: { run_limit: 1 }\n'), new Date());
    assert.ok(t);
    const make = async () => (await store.createRun({ project: 'lim', pipeline: 'etl', triggerId: t.id, kind: 'api', executionDate: new Date() }))!;
    const [a, b, c] = [await make(), await make(), await make()];
    const now = new Date();
    assert.equal((await store.claimRun(a.id, 'w', now))?.status, 'running');
    assert.equal(await store.claimRun(b.id, 'w', now), null, 'the limit holds b back');
    const jobs = await store.queue.pending();
    await store.setRunStatus(a.id, 'completed', new Date());
    assert.equal(await store.queue.pending(), jobs + 1, 'exactly one job for the freed slot');
    assert.equal((await store.claimRun(b.id, 'w', new Date()))?.status, 'running');
    assert.equal(await store.claimRun(c.id, 'w', new Date()), null);
    await store.setRunStatus(b.id, 'failed', new Date(), 'b failed');
    // c got its job from b's finish; a sweep of runs idle for 0 ms gives spare jobs to the claimable ones only.
    assert.equal(await store.enqueueIdleRuns(0), (await store.listRuns({ status: 'initial' })).length);
    assert.equal((await store.claimRun(c.id, 'w', new Date()))?.status, 'running');
    assert.equal(await store.claimRun(c.id, 'w2', new Date()), null, 'a second job for a claimed run does nothing');
  });

  test('a backfill ends with its last run, however that run ended (even cancelled before it started)', async () => {
    const day = (d: number) => new Date(Date.UTC(2020, 9, d));
    const b = await store.createBackfill(
      { project: 'bf', pipeline: 'x', name: 'q4', start_datetime: day(1), end_datetime: day(3), interval_unit: 'day', interval_value: 1, concurrency: 1, variables: {} },
      [{ executionDate: day(1), variables: {} }, { executionDate: day(2), variables: {} }],
    );
    const [first, second] = (await store.listRuns({ backfillId: b.id })).sort((x, y) => x.execution_date.getTime() - y.execution_date.getTime());
    assert.ok(first && second);
    assert.equal((await store.claimRun(first.id, 'w', new Date()))?.status, 'running');
    await store.requestCancel(second.id, new Date());
    assert.equal((await store.getBackfill(b.id))?.status, 'running', 'one run is still running');
    await store.setRunStatus(first.id, 'completed', new Date());
    assert.equal((await store.getBackfill(b.id))?.status, 'cancelled', 'settled in the same transaction as the last run');
  });

  test('block-run transitions, attempts and logs are stored with their times; logs are searchable', async () => {
    const run = await store.createRun({ project: 'r', pipeline: 'x', kind: 'manual', executionDate: new Date() });
    assert.ok(run);
    await store.ensureBlockRuns(run.id, ['a', 'b']);
    const t0 = new Date('2024-01-01T00:00:00Z');
    await store.setBlockStatus(run.id, 'a', 'queued', t0);
    await store.startAttempt(run.id, 'a', 1, new Date(t0.getTime() + 1000));
    await store.appendLogs([
      { runId: run.id, block: 'a', attempt: 1, at: t0, stream: 'stdout', text: 'loading 100_000 rows' },
      { runId: run.id, block: 'a', attempt: 1, at: t0, stream: 'stderr', text: 'warning: 50% done' },
    ]);
    await store.finishAttempt(run.id, 'a', 1, 'failed', new Date(t0.getTime() + 2000), 1000, { message: 'boom' });
    await store.setBlockStatus(run.id, 'a', 'failed', new Date(t0.getTime() + 2000), { attempt: 1, error: { message: 'boom' } });
    await store.setBlockStatus(run.id, 'b', 'upstream_failed', new Date(t0.getTime() + 2000));
    const detail = await store.getRunDetail(run.id);
    assert.ok(detail);
    assert.deepEqual(detail.blocks.map((b) => [b.block_uuid, b.status, b.attempts]), [['a', 'failed', 1], ['b', 'upstream_failed', 0]]);
    assert.deepEqual(detail.events.filter((e) => e.block_uuid === 'a').map((e) => e.status), ['queued', 'running', 'failed']);
    assert.equal(detail.attempts[0]?.duration_ms, 1000);
    assert.equal((await store.logs(run.id, { search: '50%' })).length, 1);
    assert.equal((await store.logs(run.id, { search: '100_' })).length, 1);
    assert.equal((await store.logs(run.id, { search: '_0' })).length, 1, '_ is literal, not a wildcard');
    const [first] = await store.logs(run.id);
    assert.equal((await store.logs(run.id, { afterId: first?.id })).length, 1);
  });

  test('cancel a waiting run; retry a failed run from its failed blocks', async () => {
    const waiting = await store.createRun({ project: 's', pipeline: 'x', kind: 'manual', executionDate: new Date(), notBefore: new Date(Date.now() + 3600_000) });
    assert.ok(waiting);
    assert.equal((await store.requestCancel(waiting.id, new Date()))?.status, 'cancelled');
    const run = await store.createRun({ project: 's', pipeline: 'x', kind: 'manual', executionDate: new Date() });
    assert.ok(run);
    await store.ensureBlockRuns(run.id, ['a', 'b', 'c']);
    const at = new Date();
    await store.setBlockStatus(run.id, 'a', 'completed', at);
    await store.setBlockStatus(run.id, 'b', 'failed', at);
    await store.setBlockStatus(run.id, 'c', 'upstream_failed', at);
    await store.setRunStatus(run.id, 'failed', at, 'b failed');
    await assert.rejects(store.retryFromFailed(waiting.id, at).then(() => store.retryFromFailed(run.id, at)).then(() => store.retryFromFailed(run.id, at)), /only a failed or cancelled run/);
    const again = await store.getRunDetail(run.id);
    assert.equal(again?.run.status, 'initial');
    assert.deepEqual(again?.blocks.map((b) => b.status), ['completed', 'queued', 'queued']);
  });
});
