import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSchedule, decideFires, fireTimesBetween, nextFireAfter, presetToCron, previousFireAtOrBefore } from '../../lib/scheduler/schedule';

const d = (iso: string) => new Date(iso);
const iso = (dates: readonly Date[]) => dates.map((x) => x.toISOString());

describe('schedules', () => {
  test('presets are anchored at start_time', () => {
    const start = d('2024-01-01T05:00:00Z');
    assert.equal(presetToCron('@daily', start, 'UTC'), '0 5 * * *');
    assert.equal(presetToCron('@hourly', d('2024-01-01T05:17:00Z'), 'UTC'), '17 * * * *');
    assert.equal(presetToCron('@weekly', start, 'UTC'), '0 5 * * 1');
    assert.equal(presetToCron('@monthly', d('2024-01-31T05:00:00Z'), 'UTC'), '0 5 L * *');
    assert.equal(presetToCron('@daily', null, 'UTC'), '0 0 * * *');
    assert.equal(presetToCron('@daily', start, 'Europe/Berlin'), '0 6 * * *');
  });

  test('@daily 05:00 fires once a day at 05:00, never before start_time', () => {
    const s = compileSchedule('@daily', d('2024-01-03T05:00:00Z'), 'UTC');
    assert.deepEqual(iso(fireTimesBetween(s, d('2024-01-01T00:00:00Z'), d('2024-01-05T05:00:00Z'), 10)), [
      '2024-01-03T05:00:00.000Z',
      '2024-01-04T05:00:00.000Z',
      '2024-01-05T05:00:00.000Z',
    ]);
    assert.equal(nextFireAfter(s, d('2024-01-05T05:00:00.000Z'))?.toISOString(), '2024-01-06T05:00:00.000Z');
    assert.equal(nextFireAfter(s, d('2024-01-05T04:59:59.999Z'))?.toISOString(), '2024-01-05T05:00:00.000Z');
    assert.equal(previousFireAtOrBefore(s, d('2024-01-05T05:00:00Z'))?.toISOString(), '2024-01-05T05:00:00.000Z');
    assert.equal(previousFireAtOrBefore(s, d('2024-01-05T04:59:59Z'))?.toISOString(), '2024-01-04T05:00:00.000Z');
    assert.equal(previousFireAtOrBefore(s, d('2024-01-02T04:59:59Z')), null);
  });

  test('@once fires at start_time and then never', () => {
    const s = compileSchedule('@once', d('2024-01-01T12:00:00Z'), 'UTC');
    assert.equal(nextFireAfter(s, d('2024-01-01T00:00:00Z'))?.toISOString(), '2024-01-01T12:00:00.000Z');
    assert.equal(nextFireAfter(s, d('2024-01-01T12:00:00Z')), null);
    assert.throws(() => compileSchedule('@once', null, 'UTC'), /start_time/);
  });

  test('bad cron strings are named', () => {
    assert.throws(() => compileSchedule('0 5 * *', null, 'UTC'), /5 fields/);
    assert.throws(() => compileSchedule('0 25 * * *', null, 'UTC'), /hour/);
    assert.throws(() => compileSchedule('@yearly', null, 'UTC'), /unknown preset/);
  });

  test('DST spring forward: a wall time that does not exist fires once, at the next instant', () => {
    const s = compileSchedule('30 2 * * *', null, 'Europe/Berlin');
    assert.deepEqual(iso(fireTimesBetween(s, d('2024-03-29T12:00:00Z'), d('2024-04-01T12:00:00Z'), 10)), [
      '2024-03-30T01:30:00.000Z', // 02:30 CET
      '2024-03-31T01:30:00.000Z', // 02:30 does not exist that day: 03:30 CEST
      '2024-04-01T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  test('DST fall back: a wall time that happens twice fires once', () => {
    const s = compileSchedule('30 2 * * *', null, 'Europe/Berlin');
    assert.deepEqual(iso(fireTimesBetween(s, d('2024-10-25T12:00:00Z'), d('2024-10-28T12:00:00Z'), 10)), [
      '2024-10-26T00:30:00.000Z',
      '2024-10-27T00:30:00.000Z', // the first 02:30 (CEST); the second (CET) does not fire again
      '2024-10-28T01:30:00.000Z',
    ]);
    const daily = compileSchedule('@daily', d('2024-10-01T05:00:00+02:00'), 'Europe/Berlin');
    assert.deepEqual(iso(fireTimesBetween(daily, d('2024-10-26T00:00:00Z'), d('2024-10-28T00:00:00Z'), 10)), [
      '2024-10-26T03:00:00.000Z', // 05:00 CEST
      '2024-10-27T04:00:00.000Z', // 05:00 CET: still 05:00 on the wall, 25 hours later
    ]);
  });
});

describe('catch-up decisions (fake clock: `now` is an argument)', () => {
  const schedule = compileSchedule('@daily', d('2024-01-01T05:00:00Z'), 'UTC');
  const since = d('2024-01-01T05:00:00Z');

  test('on time: exactly the due execution fires, under every policy', () => {
    for (const policy of ['none', 'latest', 'all'] as const) {
      const r = decideFires({ schedule, policy, cursor: d('2024-01-04T05:00:00Z'), since, now: d('2024-01-05T05:00:00.300Z') });
      assert.deepEqual(iso(r.fire), ['2024-01-05T05:00:00.000Z'], policy);
      assert.deepEqual(r.skipped, []);
      assert.equal(r.cursor?.toISOString(), '2024-01-05T05:00:00.000Z');
      assert.equal(r.next?.toISOString(), '2024-01-06T05:00:00.000Z');
    }
  });

  test('nothing due: nothing fires and the cursor stays', () => {
    const cursor = d('2024-01-05T05:00:00Z');
    const r = decideFires({ schedule, policy: 'all', cursor, since, now: d('2024-01-05T10:00:00Z') });
    assert.deepEqual(r, { fire: [], skipped: [], cursor, next: d('2024-01-06T05:00:00Z') });
  });

  test('a restart after the same execution fired does not fire it again', () => {
    const r = decideFires({ schedule, policy: 'latest', cursor: d('2024-01-05T05:00:00Z'), since, now: d('2024-01-05T05:00:00.900Z') });
    assert.deepEqual(r.fire, []);
  });

  test('three days down: all runs each missed day, latest runs the newest, none skips all', () => {
    const base = { schedule, cursor: d('2024-01-02T05:00:00Z'), since, now: d('2024-01-05T09:00:00Z') };
    const all = decideFires({ ...base, policy: 'all' });
    assert.deepEqual(iso(all.fire), ['2024-01-03T05:00:00.000Z', '2024-01-04T05:00:00.000Z', '2024-01-05T05:00:00.000Z']);
    const latest = decideFires({ ...base, policy: 'latest' });
    assert.deepEqual(iso(latest.fire), ['2024-01-05T05:00:00.000Z']);
    assert.deepEqual(iso(latest.skipped), ['2024-01-03T05:00:00.000Z', '2024-01-04T05:00:00.000Z']);
    const none = decideFires({ ...base, policy: 'none' });
    assert.deepEqual(none.fire, []);
    assert.equal(none.skipped.length, 3);
    for (const r of [all, latest, none]) assert.equal(r.cursor?.toISOString(), '2024-01-05T05:00:00.000Z');
  });

  test('`none` still fires an execution the scheduler reached within the grace', () => {
    const r = decideFires({ schedule, policy: 'none', cursor: d('2024-01-04T05:00:00Z'), since, now: d('2024-01-05T05:00:30Z') });
    assert.deepEqual(iso(r.fire), ['2024-01-05T05:00:00.000Z']);
  });

  test('a new trigger with start_time in the past: all back-fills from start_time in batches', () => {
    const first = decideFires({ schedule, policy: 'all', cursor: null, since, now: d('2024-01-10T06:00:00Z'), maxBatch: 4 });
    assert.deepEqual(iso(first.fire), ['2024-01-01T05:00:00.000Z', '2024-01-02T05:00:00.000Z', '2024-01-03T05:00:00.000Z', '2024-01-04T05:00:00.000Z']);
    assert.equal(first.next?.toISOString(), '2024-01-10T06:00:00.000Z', 'more is due: look again at once');
    const second = decideFires({ schedule, policy: 'all', cursor: first.cursor, since, now: d('2024-01-10T06:00:00Z'), maxBatch: 100 });
    assert.equal(second.fire.length, 6);
    assert.equal(second.next?.toISOString(), '2024-01-11T05:00:00.000Z');
  });

  test('@once fires once under latest and not again', () => {
    const once = compileSchedule('@once', d('2024-01-01T12:00:00Z'), 'UTC');
    const r = decideFires({ schedule: once, policy: 'latest', cursor: null, since: d('2024-01-01T12:00:00Z'), now: d('2024-01-01T12:00:00.010Z') });
    assert.deepEqual(iso(r.fire), ['2024-01-01T12:00:00.000Z']);
    assert.equal(r.next, null);
    const again = decideFires({ schedule: once, policy: 'latest', cursor: r.cursor, since: d('2024-01-01T12:00:00Z'), now: d('2024-02-01T00:00:00Z') });
    assert.deepEqual(again.fire, []);
  });

  test('a cron every minute for a long outage under latest stays cheap and fires one', () => {
    const everyMinute = compileSchedule('* * * * *', null, 'UTC');
    const r = decideFires({ schedule: everyMinute, policy: 'latest', cursor: d('2020-01-01T00:00:00Z'), since, now: d('2024-01-01T00:00:30Z') });
    assert.deepEqual(iso(r.fire), ['2024-01-01T00:00:00.000Z']);
  });
});

describe('retry_config', () => {
  // Imported here to keep the retry rules next to the schedule rules they run with.
  test('levels merge field by field and delays back off up to max_delay', async () => {
    const { blockRunConfigs, retryDelayMs } = await import('../../lib/scheduler/retry');
    const configs = blockRunConfigs(
      { retry_config: { retries: 1, delay: 2 } },
      { retry_config: { max_delay: 5 }, blocks: [{ uuid: 'a' }, { uuid: 'b', retry_config: { retries: 3, exponential_backoff: false }, timeout: 10 }] },
      'pipelines/p/metadata.yaml',
    );
    assert.deepEqual(configs.get('a'), { retry: { retries: 1, delay: 2, max_delay: 5, exponential_backoff: true }, timeout: null });
    assert.deepEqual(configs.get('b'), { retry: { retries: 3, delay: 2, max_delay: 5, exponential_backoff: false }, timeout: 10 });
    const a = configs.get('a')!.retry;
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(a, n)), [2000, 4000, 5000, 5000]);
    assert.throws(() => blockRunConfigs({}, { blocks: [{ uuid: 'x', retry_config: { retries: 'two' } }] }, 'f.yaml'), /f.yaml \(block x\): retry_config.retries/);
  });
});

describe('backfill intervals', () => {
  test('one interval per day, month ends kept, bad ranges named', async () => {
    const { backfillIntervals } = await import('../../lib/scheduler/backfill');
    const days = backfillIntervals(d('2024-01-01T00:00:00Z'), d('2024-01-04T00:00:00Z'), 'day', 1);
    assert.deepEqual(days.map((i) => [i.start.toISOString().slice(0, 10), i.end.toISOString().slice(0, 10)]), [['2024-01-01', '2024-01-02'], ['2024-01-02', '2024-01-03'], ['2024-01-03', '2024-01-04']]);
    const months = backfillIntervals(d('2024-01-31T00:00:00Z'), d('2024-04-01T00:00:00Z'), 'month', 1);
    assert.deepEqual(months.map((i) => i.start.toISOString().slice(0, 10)), ['2024-01-31', '2024-02-29', '2024-03-31']);
    assert.equal(backfillIntervals(d('2024-01-01T00:00:00Z'), d('2024-01-01T05:30:00Z'), 'hour', 2).length, 3);
    assert.throws(() => backfillIntervals(d('2024-01-02T00:00:00Z'), d('2024-01-01T00:00:00Z'), 'day', 1), /end of the range must be after/);
    assert.throws(() => backfillIntervals(d('2020-01-01T00:00:00Z'), d('2024-01-01T00:00:00Z'), 'minute', 1), /more than 5000 intervals/);
  });
});
