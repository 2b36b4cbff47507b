/** Retention periods of a project's metadata.yaml (Mage's keys and units, and m for minutes), and the disk page's words. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { KEEP_FOREVER, parseRetentionPeriod, parseRetentionSettings, RetentionConfigError } from '../../lib/pipeline/retention-config';
import { formatBytes, freedText, settingText } from '../../lib/ui/disk-text';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

test('periods: a whole number and m, h, d or w', () => {
  assert.deepEqual(parseRetentionPeriod('variables_retention_period', '90d'), { text: '90d', ms: 90 * DAY });
  assert.deepEqual(parseRetentionPeriod('logs_retention_period', '12h'), { text: '12h', ms: 12 * HOUR });
  assert.deepEqual(parseRetentionPeriod('runs_retention_period', '2w'), { text: '2w', ms: 14 * DAY });
  assert.deepEqual(parseRetentionPeriod('runs_retention_period', '30m'), { text: '30m', ms: 30 * MIN });
  // Mage's int() takes spaces around the number; 0 is a period too (everything finished goes).
  assert.deepEqual(parseRetentionPeriod('runs_retention_period', ' 7 d '), { text: '7 d', ms: 7 * DAY });
  assert.deepEqual(parseRetentionPeriod('logs_retention_period', '0h'), { text: '0h', ms: 0 });
  assert.equal(parseRetentionPeriod('logs_retention_period', '36500d')?.ms, 36_500 * DAY);
});

test('absent or null: kept forever', () => {
  assert.equal(parseRetentionPeriod('variables_retention_period', undefined), null);
  assert.equal(parseRetentionPeriod('variables_retention_period', null), null);
  assert.deepEqual(parseRetentionSettings(parseYaml('project_name: demo\n')), { ok: true, value: KEEP_FOREVER });
  assert.deepEqual(parseRetentionSettings(null), { ok: true, value: KEEP_FOREVER });
  assert.deepEqual(parseRetentionSettings(parseYaml("project_name: demo\nvariables_retention_period: '90d'\nlogs_retention_period: 12h\nruns_retention_period:\n")), {
    ok: true,
    value: { variables_retention_period: { text: '90d', ms: 90 * DAY }, logs_retention_period: { text: '12h', ms: 12 * HOUR }, runs_retention_period: null },
  });
});

test('a wrong value is an error naming the key and the value', () => {
  const cases: [string, unknown, RegExp][] = [
    ['variables_retention_period', '90', /variables_retention_period is "90", which is not a period/],
    ['logs_retention_period', '90 days', /logs_retention_period is "90 days", which is not a period/],
    ['runs_retention_period', '1.5d', /runs_retention_period is "1.5d"/],
    ['runs_retention_period', '-3d', /runs_retention_period is "-3d"/],
    ['runs_retention_period', '3y', /runs_retention_period is "3y"/],
    ['runs_retention_period', '', /runs_retention_period is ""/],
    ['logs_retention_period', 90, /logs_retention_period is 90: write a whole number and a unit/],
    ['logs_retention_period', true, /logs_retention_period is true/],
    ['logs_retention_period', ['1d'], /logs_retention_period is a list/],
    ['variables_retention_period', '36501d', /variables_retention_period is "36501d" \(36501 days\), longer than 100 years/],
  ];
  for (const [key, value, expected] of cases) {
    if (key !== 'variables_retention_period' && key !== 'logs_retention_period' && key !== 'runs_retention_period') throw new Error(key);
    assert.throws(() => parseRetentionPeriod(key, value), (e: unknown) => e instanceof RetentionConfigError && expected.test(e.message), `${key}: ${JSON.stringify(value)}`);
  }
});

test('every wrong key is listed, and a project with one is not swept at all', () => {
  const parsed = parseRetentionSettings(parseYaml("variables_retention_period: 90x\nlogs_retention_period: '7d'\nruns_retention_period: 30\n"));
  assert.equal(parsed.ok, false);
  if (parsed.ok) return;
  assert.equal(parsed.errors.length, 2);
  assert.match(parsed.errors[0] ?? '', /^metadata\.yaml: variables_retention_period is "90x"/);
  assert.match(parsed.errors[1] ?? '', /^metadata\.yaml: runs_retention_period is 30:/);
  assert.deepEqual(parseRetentionSettings(['a']), { ok: false, errors: ['metadata.yaml is not a mapping of settings'] });
});

test('the disk page: binary sizes, settings and what is freed', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(5 * 1024 ** 2), '5.0 MiB');
  assert.equal(formatBytes(300 * 1024 ** 3), '300 GiB');
  assert.equal(settingText(null), 'kept forever (not set)');
  assert.equal(settingText({ text: '90d' }), '90d');
  const none = { runs: { items: 0, bytes: 0 }, variables: { items: 0, bytes: 0 }, logs: { items: 0, bytes: 0 } };
  assert.equal(freedText(none), 'nothing');
  assert.equal(freedText({ runs: { items: 1, bytes: 1024 }, variables: { items: 2, bytes: 1024 }, logs: { items: 3000, bytes: 1024 } }), '1 run, 2 output folders, 3,000 log lines: 3.0 KiB');
});
