import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addTrigger, parseStartTime, parseTriggers, patchTrigger, removeTrigger } from '../../lib/pipeline/triggers';
import { checkCron } from '../../lib/scheduler/schedule';

const CONTRACT = `triggers:
  - name: daily_5am
    schedule_type: time            # time | api
    schedule_interval: "0 5 * * *" # or @once @hourly @daily @weekly @monthly
    start_time: 2024-01-01 00:00:00
    status: active                 # active | inactive
    variables: { }
    settings: { skip_if_previous_running: true }
  - name: on_demand
    schedule_type: api
    status: active
`;

const parse = (text: string) => parseTriggers(text, checkCron);

describe('parseTriggers', () => {
  test("reads the contract's example (Mage's format)", () => {
    const r = parse(CONTRACT);
    assert.ok(r.ok, JSON.stringify(r));
    const [daily, api] = r.value;
    assert.equal(daily?.name, 'daily_5am');
    assert.equal(daily?.schedule_interval, '0 5 * * *');
    assert.equal(daily?.start_time, '2024-01-01T00:00:00.000Z');
    assert.equal(daily?.settings.skip_if_previous_running, true);
    assert.equal(daily?.settings.catch_up, 'latest');
    assert.equal(api?.schedule_type, 'api');
    assert.equal(api?.schedule_interval, null);
  });

  test("a Mage-written trigger: create_initial_pipeline_run is read; keys Grimoire does not act on are listed, none dropped silently", () => {
    const r = parse(`triggers:
  - name: nightly
    schedule_type: time
    schedule_interval: "0 4 * * *"
    start_time: 2024-01-01 00:00:00
    status: active
    description: the nightly load
    envs: []
    last_enabled_at: 2024-01-01 00:00:00
    settings:
      create_initial_pipeline_run: false
      allow_blocks_to_fail: true
      landing_time_enabled: false
      skip_if_previous_running: true
`);
    assert.ok(r.ok, JSON.stringify(r));
    const [nightly] = r.value;
    assert.equal(nightly?.settings.create_initial_pipeline_run, false);
    assert.equal(nightly?.settings.skip_if_previous_running, true);
    assert.deepEqual(nightly?.ignored_keys, ['description', 'last_enabled_at', 'settings.allow_blocks_to_fail', 'settings.landing_time_enabled']);
    const contract = parse(CONTRACT);
    assert.ok(contract.ok);
    assert.equal(contract.value[0]?.settings.create_initial_pipeline_run, null, 'absent: catch_up decides');
    assert.deepEqual(contract.value[0]?.ignored_keys, []);
    const nulls = parse('triggers:\n  - name: n\n    schedule_interval: "@daily"\n    settings: { skip_if_previous_running: null, catch_up: null, create_initial_pipeline_run: null }\n');
    assert.ok(nulls.ok, JSON.stringify(nulls));
    assert.deepEqual(nulls.value[0]?.settings, { skip_if_previous_running: false, catch_up: 'latest', run_limit: null, timeout: null, create_initial_pipeline_run: null }, 'null means the default, for every setting');
    const api = parse('triggers:\n  - name: hook\n    schedule_type: api\n    settings: { catch_up: all, create_initial_pipeline_run: true, skip_if_previous_running: true }\n');
    assert.ok(api.ok);
    assert.deepEqual(api.value[0]?.ignored_keys, ['settings.catch_up', 'settings.create_initial_pipeline_run'], 'an API trigger has no missed executions');
    const dated = parse('triggers:\n  - name: d\n    schedule_interval: "@daily"\n    variables: { ds: "2022-08-18", region: eu, hr: "05" }\n  - name: hook\n    schedule_type: api\n    variables: { ds: "2022-08-18" }\n');
    assert.ok(dated.ok, JSON.stringify(dated));
    assert.deepEqual(dated.value[0]?.ignored_keys, ['variables.ds', 'variables.hr'], "each scheduled run's execution date sets ds and hr");
    assert.deepEqual(dated.value[1]?.ignored_keys, [], "an API trigger's ds sets its runs' execution date");
    const bad = parse('triggers:\n  - name: t\n    schedule_interval: "@daily"\n    settings: { create_initial_pipeline_run: "no" }\n');
    assert.equal(bad.ok, false);
    assert.match(JSON.stringify(bad), /settings.create_initial_pipeline_run must be true or false/);
  });

  test('an empty file or an empty list has no triggers', () => {
    assert.deepEqual(parse(''), { ok: true, value: [] });
    assert.deepEqual(parse('triggers: []\n'), { ok: true, value: [] });
    assert.deepEqual(parse('triggers:\n'), { ok: true, value: [] });
  });

  test('every problem is named, and a file with problems yields nothing', () => {
    const r = parse(`triggers:
  - name: a
    schedule_interval: "61 * * * *"
  - name: b
    schedule_type: cron
    schedule_interval: "@daily"
    settings: { catch_up: sometimes, run_limit: 0 }
  - name: a
    schedule_type: api
  - name: c
    schedule_interval: "@once"
  - name: d
    schedule_interval: "@daily"
    timezone: Mars/Olympus
`);
    assert.equal(r.ok, false);
    const messages = r.ok ? [] : r.issues.map((i) => i.message);
    for (const expected of [/trigger "a": schedule_interval "61 \* \* \* \*": .*minute/, /trigger "b": schedule_type must be time or api/, /trigger "b": settings.catch_up must be none, latest or all/, /trigger "b": settings.run_limit must be a positive/, /trigger "a": the name is used twice/, /trigger "c": an @once trigger needs start_time/, /trigger "d": timezone "Mars\/Olympus"/]) {
      assert.ok(messages.some((m) => expected.test(m)), `${expected} not in\n${messages.join('\n')}`);
    }
  });

  test('malformed YAML is reported with its line', () => {
    const r = parse('triggers:\n  - name: [a\n');
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : (r.issues[0]?.message ?? ''), /malformed YAML/);
  });

  test('start_time is read in the trigger time zone', () => {
    assert.equal(parseStartTime('2024-07-01 05:00:00', 'Europe/Berlin')?.toISOString(), '2024-07-01T03:00:00.000Z');
    assert.equal(parseStartTime('2024-01-01 05:00', 'Europe/Berlin')?.toISOString(), '2024-01-01T04:00:00.000Z');
    assert.equal(parseStartTime('2024-01-01T05:00:00Z', 'Europe/Berlin')?.toISOString(), '2024-01-01T05:00:00.000Z');
    assert.equal(parseStartTime('yesterday', 'UTC'), null);
  });
});

describe('editing triggers.yaml', () => {
  test('pausing changes only status and keeps comments and unknown keys', () => {
    const text = CONTRACT.replace('    settings: { skip_if_previous_running: true }', '    settings: { skip_if_previous_running: true, landing_time_enabled: true }\n    envs: [] # mine');
    const out = patchTrigger(text, 'daily_5am', { status: 'inactive' });
    assert.match(out, /status: inactive +# active \| inactive/);
    assert.match(out, /# or @once @hourly/);
    assert.match(out, /landing_time_enabled: true/);
    assert.match(out, /envs: \[\] # mine/);
    const r = parse(out);
    assert.ok(r.ok);
    assert.equal(r.value[0]?.status, 'inactive');
    assert.equal(r.value[0]?.settings.skip_if_previous_running, true);
  });

  test('a settings patch sets only the given keys', () => {
    const out = patchTrigger(CONTRACT, 'daily_5am', { settings: { catch_up: 'none', run_limit: null } });
    const r = parse(out);
    assert.ok(r.ok);
    assert.deepEqual(r.value[0]?.settings, { skip_if_previous_running: true, catch_up: 'none', run_limit: null, timeout: null, create_initial_pipeline_run: null });
  });

  test('add and remove', () => {
    const added = addTrigger(CONTRACT, 'hourly', { schedule_type: 'time', schedule_interval: '@hourly', status: 'active', settings: { catch_up: 'all' } });
    const r = parse(added);
    assert.ok(r.ok);
    assert.deepEqual(r.value.map((t) => t.name), ['daily_5am', 'on_demand', 'hourly']);
    assert.throws(() => addTrigger(added, 'hourly', {}), /already exists/);
    const removed = removeTrigger(added, 'on_demand');
    assert.match(removed, /# time \| api/);
    const r2 = parse(removed);
    assert.ok(r2.ok);
    assert.deepEqual(r2.value.map((t) => t.name), ['daily_5am', 'hourly']);
    const fresh = addTrigger('', 'first', { schedule_type: 'api', variables: { who: 'me' } });
    assert.ok(parse(fresh).ok);
    // Block style, as Mage writes it and as people edit it by hand.
    assert.match(fresh, /^triggers:\n {2}- name: first\n {4}schedule_type: api\n/);
  });

  test('a file that is not valid YAML is refused, not overwritten', () => {
    assert.throws(() => patchTrigger('triggers:\n  - name: [a\n', 'a', { status: 'inactive' }), /not valid YAML.*not changed/);
  });
});
