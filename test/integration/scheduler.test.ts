import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { parseTriggers } from '../../lib/pipeline/triggers';
import { FakeClock } from '../../lib/clock';
import { checkCron } from '../../lib/scheduler/schedule';
import { Scheduler } from '../../lib/scheduler/scheduler';
import { type Store } from '../../lib/store/store';
import { testStore } from '../support/store';

let env: Awaited<ReturnType<typeof testStore>>;
let store: Store;

before(async () => {
  env = await testStore();
  store = env.store;
});
after(async () => env?.close());

let pipelineCounter = 0;
const pipelines: string[] = [];
/** Each test gets its own pipeline name, so triggers and runs of different tests never mix. */
async function withTrigger(yaml: string, now: Date) {
  const parsed = parseTriggers(`triggers:\n${yaml}`, checkCron);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const pipeline = `p${++pipelineCounter}`;
  pipelines.push(pipeline);
  const [trigger] = await store.triggers.sync('proj', pipeline, parsed.value, now);
  assert.ok(trigger);
  return { pipeline, trigger };
}

// A trigger left active would catch up in the next test's clock (a month of minutes).
afterEach(async () => {
  for (const p of pipelines.splice(0)) await store.triggers.sync('proj', p, [], new Date());
});

const executions = async (pipeline: string) =>
  (await store.runs.list({ project: 'proj', pipeline, limit: 10_000 })).map((r) => r.execution_date.toISOString()).sort();

/** Close the runs the scheduler made (no worker in these tests), so skip_if_previous_running sees none. */
async function finishAll(pipeline: string, at: Date) {
  for (const r of await store.runs.list({ project: 'proj', pipeline })) if (r.status === 'initial') await store.runs.setStatus(r.id, 'completed', at);
}

describe('scheduler against a fake clock', () => {
  test('a @daily 05:00 trigger fires each day once and only once, across restarts', async () => {
    const clock = new FakeClock('2024-01-01T00:00:00Z');
    const { pipeline } = await withTrigger('  - name: daily\n    schedule_interval: "@daily"\n    start_time: 2024-01-01 05:00:00\n    settings: { catch_up: latest }\n', clock.now());
    let scheduler = new Scheduler(store, { clock });
    assert.deepEqual(await scheduler.tick(), []);
    for (let day = 1; day <= 5; day++) {
      clock.set(`2024-01-0${day}T05:00:00.200Z`);
      const fired = await scheduler.tick();
      assert.equal(fired.length, 1, `day ${day}`);
      // The same instant again, and a "restarted" scheduler (a new instance): nothing more.
      assert.deepEqual(await scheduler.tick(), []);
      scheduler = new Scheduler(store, { clock });
      assert.deepEqual(await scheduler.tick(), []);
      clock.set(`2024-01-0${day}T18:00:00Z`);
      assert.deepEqual(await scheduler.tick(), []);
    }
    assert.deepEqual(await executions(pipeline), [1, 2, 3, 4, 5].map((d) => `2024-01-0${d}T05:00:00.000Z`));
  });

  test('two schedulers on two connections at the same moments create no duplicate run', async () => {
    const clock = new FakeClock('2024-02-01T00:00:00Z');
    const { pipeline } = await withTrigger('  - name: every_minute\n    schedule_interval: "* * * * *"\n    settings: { catch_up: all }\n', clock.now());
    const other = await env.open();
    const a = new Scheduler(store, { clock });
    const b = new Scheduler(other, { clock });
    for (let minute = 1; minute <= 30; minute++) {
      clock.set(new Date(Date.parse('2024-02-01T00:00:00Z') + minute * 60_000 + 5));
      await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    }
    const dates = await executions(pipeline);
    // 00:00 (the moment the trigger appeared) .. 00:30: each minute exactly once.
    assert.equal(dates.length, 31);
    assert.equal(new Set(dates).size, 31);
  });

  test('catch-up after downtime: all, latest and none', async () => {
    const start = new Date('2024-03-01T00:00:00Z');
    const results: Record<string, string[]> = {};
    for (const policy of ['all', 'latest', 'none']) {
      const clock = new FakeClock(start);
      const { pipeline, trigger } = await withTrigger(`  - name: hourly_${policy}\n    schedule_interval: "@hourly"\n    start_time: 2024-03-01 00:00:00\n    settings: { catch_up: ${policy} }\n`, clock.now());
      const scheduler = new Scheduler(store, { clock });
      await scheduler.tick(); // 00:00 on time
      clock.set('2024-03-01T05:30:00Z'); // down from 00:00 to 05:30
      await scheduler.tick();
      results[policy] = (await executions(pipeline)).map((d) => d.slice(11, 16));
      const events = await store.triggers.events(trigger.id);
      if (policy !== 'all') assert.match(events.find((e) => e.decision === 'skipped_catch_up')?.message ?? '', new RegExp(`not run: catch_up is ${policy}`));
    }
    assert.deepEqual(results, {
      all: ['00:00', '01:00', '02:00', '03:00', '04:00', '05:00'],
      latest: ['00:00', '05:00'],
      none: ['00:00'],
    });
  });

  test('@once fires once; a paused trigger does not fire and catches up by its policy when resumed', async () => {
    const clock = new FakeClock('2024-04-01T00:00:00Z');
    const once = await withTrigger('  - name: once\n    schedule_interval: "@once"\n    start_time: 2024-04-01 12:00:00\n', clock.now());
    const scheduler = new Scheduler(store, { clock });
    clock.set('2024-04-01T12:00:00.010Z');
    await scheduler.tick();
    clock.set('2024-05-01T00:00:00Z');
    await scheduler.tick();
    assert.deepEqual(await executions(once.pipeline), ['2024-04-01T12:00:00.000Z']);
    // Fired and finished: the scheduler does not look at it again (it used to be due at once, forever).
    const eventsBefore = (await store.triggers.events(once.trigger.id, 100)).length;
    clock.set('2024-05-01T00:00:05Z');
    await scheduler.tick();
    assert.equal((await store.triggers.events(once.trigger.id, 100)).length, eventsBefore, 'a finished @once is not decided again');
    const next = await store.triggers.nextCheck();
    assert.ok(next === null || next.getTime() > clock.now().getTime() + 365 * 86_400_000, `next check ${next?.toISOString()}`);

    const yaml = (status: string) => `triggers:\n  - name: d\n    schedule_interval: "0 6 * * *"\n    status: ${status}\n    settings: { catch_up: latest }\n`;
    const parse = (status: string) => {
      const r = parseTriggers(yaml(status), checkCron);
      if (!r.ok) throw new Error('bad');
      return r.value;
    };
    clock.set('2024-06-01T00:00:00Z');
    await store.triggers.sync('proj', 'paused', parse('active'), clock.now());
    clock.set('2024-06-01T06:00:01Z');
    await scheduler.tick();
    await store.triggers.sync('proj', 'paused', parse('inactive'), clock.now());
    clock.set('2024-06-04T07:00:00Z');
    await scheduler.tick();
    assert.deepEqual(await executions('paused'), ['2024-06-01T06:00:00.000Z']);
    await store.triggers.sync('proj', 'paused', parse('active'), clock.now());
    await scheduler.tick();
    assert.deepEqual(await executions('paused'), ['2024-06-01T06:00:00.000Z', '2024-06-04T06:00:00.000Z']);
  });

  test("Mage's create_initial_pipeline_run: false passes over the execution due before the trigger appeared; true runs it", async () => {
    // Dropped into a running server at 19:13 with start_time weeks ago, on 0 4 * * *.
    const clock = new FakeClock('2024-03-20T19:13:00Z');
    const yaml = (initial: boolean, catchUp: string) =>
      `  - name: nightly\n    schedule_interval: "0 4 * * *"\n    start_time: 2024-03-01 00:00:00\n    settings: { create_initial_pipeline_run: ${initial}, catch_up: ${catchUp} }\n`;
    const off = await withTrigger(yaml(false, 'latest'), clock.now());
    const scheduler = new Scheduler(store, { clock });
    clock.set('2024-03-20T19:13:16Z');
    assert.deepEqual(await scheduler.tick(), []);
    assert.deepEqual(await executions(off.pipeline), []);
    const events = await store.triggers.events(off.trigger.id, 10);
    assert.match(events.map((e) => e.message).join('\n'), /2024-03-20T04:00:00.000Z was due before the trigger appeared .*create_initial_pipeline_run is false/);
    // The next execution after it appeared runs as usual, once.
    clock.set('2024-03-21T04:00:00.300Z');
    assert.equal((await scheduler.tick()).length, 1);
    assert.deepEqual(await executions(off.pipeline), ['2024-03-21T04:00:00.000Z']);
    await finishAll(off.pipeline, clock.now());

    clock.set('2024-03-21T19:13:00Z');
    const on = await withTrigger(yaml(true, 'none'), clock.now());
    clock.set('2024-03-21T19:13:16Z');
    assert.equal((await scheduler.tick()).length, 1, 'true runs the execution already due, whatever catch_up says');
    assert.deepEqual(await executions(on.pipeline), ['2024-03-21T04:00:00.000Z']);
    await finishAll(on.pipeline, clock.now());

    // An @once trigger whose start_time passed before it appeared still runs its one execution.
    clock.set('2024-03-22T10:00:00Z');
    const once = await withTrigger('  - name: once_late\n    schedule_interval: "@once"\n    start_time: 2024-03-01 10:00:00\n    settings: { create_initial_pipeline_run: false, catch_up: latest }\n', clock.now());
    clock.set('2024-03-22T10:00:05Z');
    await scheduler.tick();
    assert.deepEqual(await executions(once.pipeline), ['2024-03-01T10:00:00.000Z']);
    await finishAll(once.pipeline, clock.now());
  });

  test('skip_if_previous_running skips an execution while a run is unfinished, and says so', async () => {
    const clock = new FakeClock('2024-07-01T00:00:00Z');
    const { pipeline, trigger } = await withTrigger('  - name: hourly\n    schedule_interval: "0 * * * *"\n    settings: { catch_up: latest, skip_if_previous_running: true }\n', clock.now());
    const scheduler = new Scheduler(store, { clock });
    clock.set('2024-07-01T01:00:00Z');
    await scheduler.tick();
    clock.set('2024-07-01T02:00:00Z');
    await scheduler.tick(); // 01:00 is still initial
    await finishAll(pipeline, clock.now());
    clock.set('2024-07-01T03:00:00Z');
    await scheduler.tick();
    assert.deepEqual((await executions(pipeline)).map((d) => d.slice(11, 16)), ['01:00', '03:00']);
    const skipped = (await store.triggers.events(trigger.id)).find((e) => e.decision === 'skipped_previous_running');
    assert.equal(skipped?.execution_date?.toISOString(), '2024-07-01T02:00:00.000Z');
  });

  test('a DST day in Europe/Berlin: a daily 02:30 still fires once', async () => {
    const clock = new FakeClock('2024-03-30T00:00:00Z');
    const { pipeline } = await withTrigger('  - name: berlin\n    schedule_interval: "30 2 * * *"\n    timezone: Europe/Berlin\n    settings: { catch_up: all }\n', clock.now());
    const scheduler = new Scheduler(store, { clock });
    for (let h = 0; h < 72; h++) {
      clock.advance(3600_000);
      await scheduler.tick();
    }
    assert.deepEqual(await executions(pipeline), ['2024-03-30T01:30:00.000Z', '2024-03-31T01:30:00.000Z', '2024-04-01T00:30:00.000Z']);
  });
});

describe('scheduler loop on the real clock', () => {
  test('wakes for the next due time: runs are created less than a second late', async () => {
    const parsed = parseTriggers('triggers:\n  - name: every_second\n    schedule_interval: "* * * * * *"\n    settings: { catch_up: none }\n', checkCron);
    assert.ok(parsed.ok);
    await store.triggers.sync('proj', 'realtime', parsed.value, new Date());
    const scheduler = new Scheduler(store, { maxSleepMs: 60_000 });
    scheduler.start();
    await new Promise((r) => setTimeout(r, 4200));
    await scheduler.stop();
    const runs = await store.runs.list({ project: 'proj', pipeline: 'realtime' });
    assert.ok(runs.length >= 3, `only ${runs.length} runs`);
    const lateness = runs.map((r) => r.created_at.getTime() - r.execution_date.getTime()).sort((x, y) => x - y);
    assert.ok(lateness.every((ms) => ms >= 0 && ms < 1000), `lateness ${lateness.join(', ')} ms`);
  });
});
