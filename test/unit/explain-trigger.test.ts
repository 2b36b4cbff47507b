import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explainTrigger } from '../../lib/scheduler/service';
import { type RunRow, type TriggerEventRow, type TriggerRow } from '../../lib/store/types';

const d = (iso: string) => new Date(iso);
const trigger = (over: Partial<TriggerRow> = {}): TriggerRow => ({
  id: 't1',
  project: 'p',
  pipeline: 'x',
  name: 'daily',
  schedule_type: 'time',
  schedule_interval: '@daily',
  start_time: d('2024-01-01T05:00:00Z'),
  timezone: 'UTC',
  status: 'active',
  variables: {},
  settings: { skip_if_previous_running: false, catch_up: 'latest', run_limit: null, timeout: null, create_initial_pipeline_run: null },
  sla_seconds: null,
  token_hash: null,
  token_created_at: null,
  in_file: true,
  definition_error: null,
  first_active_at: d('2024-01-01T00:00:00Z'),
  cursor_execution_date: d('2024-01-05T05:00:00Z'),
  next_check_at: d('2024-01-06T05:00:00Z'),
  created_at: d('2024-01-01T00:00:00Z'),
  updated_at: d('2024-01-01T00:00:00Z'),
  ...over,
});
const run = (executionDate: string): RunRow => ({
  id: 'r1', project: 'p', pipeline: 'x', trigger_id: 't1', backfill_id: null, kind: 'scheduled', execution_date: d(executionDate), status: 'completed',
  variables: {}, attempt: 1, not_before: d(executionDate), worker_id: null, cancel_requested: false, timeout_seconds: null, error: null,
  created_at: new Date(d(executionDate).getTime() + 120), started_at: null, completed_at: null, started_by: null, queue: 'default',
});
const event = (executionDate: string, message: string): TriggerEventRow => ({ id: 1, trigger_id: 't1', at: d(executionDate), execution_date: d(executionDate), decision: 'skipped_previous_running', run_id: null, message });

describe('why a trigger did or did not run', () => {
  const now = d('2024-01-05T12:00:00Z');
  test('the last expected execution started: which run, how late, and the next one', () => {
    const { next, lines } = explainTrigger(trigger(), now, [run('2024-01-05T05:00:00Z')], []);
    assert.equal(next?.toISOString(), '2024-01-06T05:00:00.000Z');
    assert.match(lines.join('\n'), /2024-01-05T05:00:00.000Z\) started: run r1 was created 120 ms after it and is completed/);
    assert.match(lines.join('\n'), /Next run: 2024-01-06T05:00:00.000Z/);
  });
  test('it did not start: the recorded reason', () => {
    const { lines } = explainTrigger(trigger(), now, [], [event('2024-01-05T05:00:00Z', 'skipped: a previous run of this trigger was still running')]);
    assert.match(lines.join('\n'), /did not start: skipped: a previous run/);
  });
  test('paused, not reached, not yet due, api', () => {
    assert.match(explainTrigger(trigger({ status: 'inactive' }), now, [], []).lines.join('\n'), /Paused/);
    assert.equal(explainTrigger(trigger({ status: 'inactive' }), now, [], []).next, null);
    assert.match(explainTrigger(trigger({ cursor_execution_date: d('2024-01-04T05:00:00Z') }), now, [], []).lines.join('\n'), /not been reached by the scheduler/);
    assert.match(explainTrigger(trigger({ start_time: d('2024-02-01T05:00:00Z') }), now, [], []).lines.join('\n'), /No execution was due yet; the first is 2024-02-01T05:00:00.000Z/);
    assert.match(explainTrigger(trigger({ schedule_type: 'api' }), now, [], []).lines.join('\n'), /URL is called with its token/);
  });

  test('an @once that ran is done, with no next run; one not yet due is not', () => {
    const once = trigger({ schedule_interval: '@once', start_time: d('2024-01-03T05:00:00Z'), cursor_execution_date: d('2024-01-03T05:00:00Z') });
    const ran = explainTrigger(once, now, [run('2024-01-03T05:00:00Z')], []);
    assert.equal(ran.done, true);
    assert.equal(ran.next, null);
    assert.match(ran.lines.join('\n'), /Done: this schedule has no execution left/);
    const waiting = explainTrigger(trigger({ schedule_interval: '@once', start_time: d('2024-02-01T05:00:00Z'), cursor_execution_date: null }), now, [], []);
    assert.equal(waiting.done, false);
    assert.equal(waiting.next?.toISOString(), '2024-02-01T05:00:00.000Z');
    assert.equal(explainTrigger(trigger(), now, [run('2024-01-05T05:00:00Z')], []).done, false, 'a daily schedule is never done');
  });
});
