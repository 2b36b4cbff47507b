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
    assert.deepEqual(await store.appliedMigrations(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await store.migrate(), []);
    const second = await env.open();
    assert.deepEqual(await second.appliedMigrations(), [1, 2, 3, 4, 5, 6]);
  });

  test('triggers sync from triggers.yaml: edits keep scheduler state, removed ones stop firing', async () => {
    const now = new Date('2024-01-01T00:00:00Z');
    const [daily] = await store.triggers.sync('p', 'etl', triggers('triggers:\n  - name: daily\n    schedule_interval: "@daily"\n    start_time: 2024-01-01 05:00:00\n  - name: api\n    schedule_type: api\n'), now);
    assert.ok(daily);
    assert.equal(daily.next_check_at?.toISOString(), now.toISOString());
    await store.tx((c) => store.triggers.advance(c, daily.id, new Date('2024-01-01T05:00:00Z'), new Date('2024-01-02T05:00:00Z'), now));
    const later = new Date('2024-01-01T06:00:00Z');
    const [again] = await store.triggers.sync('p', 'etl', triggers('triggers:\n  - name: daily\n    schedule_interval: "@daily"\n    start_time: 2024-01-01 05:00:00\n    variables: { a: 1 }\n'), later);
    assert.equal(again?.id, daily.id);
    assert.equal(again?.cursor_execution_date?.toISOString(), '2024-01-01T05:00:00.000Z');
    assert.equal(again?.next_check_at?.toISOString(), '2024-01-02T05:00:00.000Z', 'a variables edit does not reschedule');
    assert.deepEqual(again?.variables, { a: 1 });
    assert.deepEqual((await store.triggers.list({ project: 'p' })).map((t) => t.name), ['daily']);
    assert.equal((await store.triggers.get('p', 'etl', 'api'))?.in_file, false);
  });

  test('a time trigger due at once makes the scheduler\'s next check the epoch, a Date, not an infinity', async () => {
    const [hourly] = await store.triggers.sync('due', 'etl', triggers('triggers:\n  - name: hourly\n    schedule_interval: "@hourly"\n'), new Date());
    assert.ok(hourly);
    // A decision that leaves the trigger due at once (advance's null), as the scheduler makes.
    await store.tx((c) => store.triggers.advance(c, hourly.id, null, null, new Date()));
    const next = await store.triggers.nextCheck();
    assert.ok(next instanceof Date, `next check is ${String(next)}`);
    assert.equal(next.getTime(), 0);
  });

  test('a scheduled execution is created once, however many ask at the same time', async () => {
    const t = await store.triggers.get('p', 'etl', 'daily');
    assert.ok(t);
    const executionDate = new Date('2024-01-03T05:00:00Z');
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () => store.runs.create({ project: 'p', pipeline: 'etl', triggerId: t.id, kind: 'scheduled', executionDate })),
    );
    assert.equal(attempts.filter((r) => r !== null).length, 1);
    assert.equal((await store.runs.ofTriggerAt(t.id, executionDate)).length, 1);
    // API runs of the same trigger at the same instant are separate runs.
    const api = await Promise.all([1, 2].map(() => store.runs.create({ project: 'p', pipeline: 'etl', triggerId: t.id, kind: 'api', executionDate })));
    assert.ok(api.every((r) => r !== null));
  });

  test('concurrent claims never take the same run (FOR UPDATE SKIP LOCKED), and every run has a pg-boss job', async () => {
    const other = await env.open();
    const before = await store.queue.pending();
    const runs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await store.runs.create({ project: 'q', pipeline: 'x', kind: 'manual', executionDate: new Date() });
      if (r) runs.push(r.id);
    }
    assert.equal(await store.queue.pending(), before + 6, 'one job per created run, written with it');
    const claimed: string[] = [];
    const now = new Date();
    // Four claimers, as if each had fetched a job for every run.
    await Promise.all(
      [store, other, store, other].map(async (s, w) => {
        for (const id of runs) {
          const r = await s.runs.claim(id, `w${w}`, now);
          if (r) claimed.push(r.id);
        }
      }),
    );
    assert.deepEqual([...claimed].sort(), [...runs].sort());
  });

  test('a run held by its trigger run limit gets a job when the running one finishes; idle runs are swept', async () => {
    const [t] = await store.triggers.sync('lim', 'etl', triggers('triggers:\n  - name: api\n    schedule_type: api\n    settings: { run_limit: 1 }\n'), new Date());
    assert.ok(t);
    const make = async () => (await store.runs.create({ project: 'lim', pipeline: 'etl', triggerId: t.id, kind: 'api', executionDate: new Date() }))!;
    const [a, b, c] = [await make(), await make(), await make()];
    const now = new Date();
    assert.equal((await store.runs.claim(a.id, 'w', now))?.status, 'running');
    assert.equal(await store.runs.claim(b.id, 'w', now), null, 'the limit holds b back');
    const jobs = await store.queue.pending();
    await store.runs.setStatus(a.id, 'completed', new Date());
    assert.equal(await store.queue.pending(), jobs + 1, 'exactly one job for the freed slot');
    assert.equal((await store.runs.claim(b.id, 'w', new Date()))?.status, 'running');
    assert.equal(await store.runs.claim(c.id, 'w', new Date()), null);
    await store.runs.setStatus(b.id, 'failed', new Date(), 'b failed');
    // c got its job from b's finish; a sweep of runs idle for 0 ms gives spare jobs to the claimable ones only.
    assert.equal(await store.runs.enqueueIdle(0), (await store.runs.list({ status: 'initial' })).length);
    assert.equal((await store.runs.claim(c.id, 'w', new Date()))?.status, 'running');
    assert.equal(await store.runs.claim(c.id, 'w2', new Date()), null, 'a second job for a claimed run does nothing');
    // The same worker asking again (its claim's reply was lost with the connection) gets the run as
    // it is: not a second attempt, not a second event.
    const again = await store.runs.claim(c.id, 'w', new Date());
    assert.equal(again?.worker_id, 'w');
    assert.equal(again?.attempt, 1);
    const claims = (await store.runs.detail(c.id))!.events.filter((e) => e.message?.startsWith('claimed by worker'));
    assert.deepEqual(claims.map((e) => [e.message, e.attempt]), [['claimed by worker w', 1]]);
  });

  test('claims at the same time respect a run limit: the claim lock makes each see the claims before it', async () => {
    const [t] = await store.triggers.sync('lim2', 'etl', triggers('triggers:\n  - name: api\n    schedule_type: api\n    settings: { run_limit: 2 }\n'), new Date());
    assert.ok(t);
    const runs = await Promise.all(Array.from({ length: 12 }, () => store.runs.create({ project: 'lim2', pipeline: 'etl', triggerId: t.id, kind: 'api', executionDate: new Date() })));
    const claimed = await Promise.all(runs.map((r, i) => store.runs.claim(r!.id, `w${i}`, new Date())));
    assert.equal(claimed.filter((r) => r !== null).length, 2);
  });

  test("a worker id with quotes and a run id that is SQL are only ever values in the claim", async () => {
    const run = (await store.runs.create({ project: 'quoted', pipeline: 'etl', kind: 'manual', executionDate: new Date() }))!;
    const worker = "it's\\'); DROP TABLE pipeline_runs; --";
    const claimed = await store.runs.claim(run.id, worker, new Date('2024-05-01T05:00:00.123Z'));
    assert.equal(claimed?.worker_id, worker);
    assert.equal(claimed?.started_at?.toISOString(), '2024-05-01T05:00:00.123Z');
    assert.equal(await store.runs.claim("x' OR '1'='1", 'w', new Date()), null);
    assert.ok(await store.runs.get(run.id), 'pipeline_runs is still there');
  });

  test('a backfill ends with its last run, however that run ended (even cancelled before it started)', async () => {
    const day = (d: number) => new Date(Date.UTC(2020, 9, d));
    const b = await store.backfills.create(
      { project: 'bf', pipeline: 'x', name: 'q4', start_datetime: day(1), end_datetime: day(3), interval_unit: 'day', interval_value: 1, concurrency: 1, variables: {} },
      [{ executionDate: day(1), variables: {} }, { executionDate: day(2), variables: {} }],
    );
    const [first, second] = (await store.runs.list({ backfillId: b.id })).sort((x, y) => x.execution_date.getTime() - y.execution_date.getTime());
    assert.ok(first && second);
    assert.equal((await store.runs.claim(first.id, 'w', new Date()))?.status, 'running');
    await store.runs.requestCancel(second.id, new Date());
    assert.equal((await store.backfills.get(b.id))?.status, 'running', 'one run is still running');
    await store.runs.setStatus(first.id, 'completed', new Date());
    assert.equal((await store.backfills.get(b.id))?.status, 'cancelled', 'settled in the same transaction as the last run');
  });

  test('block-run transitions, attempts and logs are stored with their times; logs are searchable', async () => {
    const run = await store.runs.create({ project: 'r', pipeline: 'x', kind: 'manual', executionDate: new Date() });
    assert.ok(run);
    await store.blockRuns.ensure(run.id, ['a', 'b']);
    const t0 = new Date('2024-01-01T00:00:00Z');
    await store.blockRuns.setStatus(run.id, 'a', 'queued', t0);
    await store.blockRuns.startAttempt(run.id, 'a', 1, new Date(t0.getTime() + 1000));
    await store.logs.append([
      { runId: run.id, block: 'a', attempt: 1, at: t0, stream: 'stdout', text: 'loading 100_000 rows' },
      { runId: run.id, block: 'a', attempt: 1, at: t0, stream: 'stderr', text: 'warning: 50% done' },
    ]);
    await store.blockRuns.finishAttempt(run.id, 'a', { attempt: 1, status: 'failed', at: new Date(t0.getTime() + 2000), durationMs: 1000, error: { message: 'boom' } });
    await store.blockRuns.setStatus(run.id, 'a', 'failed', new Date(t0.getTime() + 2000), { attempt: 1, error: { message: 'boom' } });
    await store.blockRuns.setStatus(run.id, 'b', 'upstream_failed', new Date(t0.getTime() + 2000));
    const detail = await store.runs.detail(run.id);
    assert.ok(detail);
    assert.deepEqual(detail.blocks.map((b) => [b.block_uuid, b.status, b.attempts]), [['a', 'failed', 1], ['b', 'upstream_failed', 0]]);
    assert.deepEqual(detail.events.filter((e) => e.block_uuid === 'a').map((e) => e.status), ['queued', 'running', 'failed']);
    assert.equal(detail.attempts[0]?.duration_ms, 1000);
    assert.equal((await store.logs.list(run.id, { search: '50%' })).length, 1);
    assert.equal((await store.logs.list(run.id, { search: '100_' })).length, 1);
    assert.equal((await store.logs.list(run.id, { search: '_0' })).length, 1, '_ is literal, not a wildcard');
    const [first] = await store.logs.list(run.id);
    assert.equal((await store.logs.list(run.id, { afterId: first?.id })).length, 1);
  });

  test('a block run\'s times and error follow its status (state-columns.ts), written by Postgres as computed', async () => {
    const run = await store.runs.create({ project: 'cols', pipeline: 'x', kind: 'manual', executionDate: new Date() });
    assert.ok(run);
    await store.blockRuns.ensure(run.id, ['a', 'b']);
    const t = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
    const a = async () => (await store.blockRuns.list(run.id))[0]!;
    await store.blockRuns.setStatus(run.id, 'a', 'running', t(1), { attempt: 1 });
    assert.deepEqual([(await a()).started_at, (await a()).completed_at], [t(1), null]);
    await store.blockRuns.setStatus(run.id, 'a', 'failed', t(2), { attempt: 1, error: { message: 'boom' } });
    assert.deepEqual([(await a()).completed_at, (await a()).error], [t(2), { message: 'boom' }]);
    await store.blockRuns.setStatus(run.id, 'a', 'upstream_failed', t(3), { error: { message: 'ignored' } });
    assert.deepEqual((await a()).error, { message: 'boom' }, 'upstream_failed keeps the error it had');
    await store.blockRuns.setStatus(run.id, 'a', 'cancelled', t(4));
    assert.deepEqual((await a()).error, { message: 'boom' }, 'failed and cancelled without an error keep the one recorded');
    await store.blockRuns.setStatus(run.id, 'a', 'queued', t(5));
    assert.deepEqual([(await a()).completed_at, (await a()).error], [null, null], 'queued starts over');
    await store.blockRuns.setStatus(run.id, 'a', 'running', t(6), { attempt: 2 });
    assert.deepEqual([(await a()).started_at, (await a()).attempts], [t(1), 2], 'started_at is the first start');
    await store.blockRuns.setStatus(run.id, 'a', 'completed', t(7), { attempt: 2, rowCount: 5 });
    assert.deepEqual([(await a()).completed_at, (await a()).row_count, (await a()).error], [t(7), 5, null]);
    await store.runs.setStatus(run.id, 'running', t(7));
    assert.equal((await store.runs.get(run.id))?.completed_at, null);
    await store.runs.setStatus(run.id, 'completed', t(8));
    assert.deepEqual((await store.runs.get(run.id))?.completed_at, t(8));
  });

  test('cancel a waiting run; retry a failed run from its failed blocks', async () => {
    const waiting = await store.runs.create({ project: 's', pipeline: 'x', kind: 'manual', executionDate: new Date(), notBefore: new Date(Date.now() + 3600_000) });
    assert.ok(waiting);
    assert.equal((await store.runs.requestCancel(waiting.id, new Date()))?.status, 'cancelled');
    const run = await store.runs.create({ project: 's', pipeline: 'x', kind: 'manual', executionDate: new Date() });
    assert.ok(run);
    await store.blockRuns.ensure(run.id, ['a', 'b', 'c']);
    const at = new Date();
    await store.blockRuns.setStatus(run.id, 'a', 'completed', at);
    await store.blockRuns.setStatus(run.id, 'b', 'failed', at);
    await store.blockRuns.setStatus(run.id, 'c', 'upstream_failed', at);
    await store.runs.setStatus(run.id, 'failed', at, 'b failed');
    await assert.rejects(store.runs.retryFromFailed(waiting.id, at).then(() => store.runs.retryFromFailed(run.id, at)).then(() => store.runs.retryFromFailed(run.id, at)), /only a failed or cancelled run/);
    const again = await store.runs.detail(run.id);
    assert.equal(again?.run.status, 'initial');
    assert.deepEqual(again?.blocks.map((b) => b.status), ['completed', 'queued', 'queued']);
  });
});
