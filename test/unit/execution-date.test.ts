import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executionDateFrom, runtimeVariables } from '../../lib/engine/runtime-variables';
import { parsePipeline } from '../../lib/pipeline/parse-pipeline';

const now = new Date('2026-12-01T09:30:00Z');
const iso = (vars: Record<string, string>) => executionDateFrom(vars, now).toISOString();

test('execution_date and ds in a run\'s variables set its execution date; nothing given is now', () => {
  assert.equal(iso({}), '2026-12-01T09:30:00.000Z');
  assert.equal(iso({ ds: '2022-08-18' }), '2022-08-18T00:00:00.000Z');
  assert.equal(iso({ execution_date: '2022-08-18T00:00:00Z' }), '2022-08-18T00:00:00.000Z');
  assert.equal(iso({ ds: '2022-08-18', execution_date: '2022-08-18T00:00:00Z' }), '2022-08-18T00:00:00.000Z');
  assert.equal(iso({ execution_date: '2022-08-18 05:00:00' }), '2022-08-18T05:00:00.000Z', 'no zone: UTC');
  assert.equal(iso({ execution_date: '2022-08-18T07:00:00+02:00' }), '2022-08-18T05:00:00.000Z');
  assert.equal(iso({ execution_date: '2022-08-18' }), '2022-08-18T00:00:00.000Z');
  assert.equal(iso({ other: 'x' }), '2026-12-01T09:30:00.000Z');
});

test('a value that is not a date, or two that disagree, is refused naming the variable', () => {
  assert.throws(() => iso({ ds: '18/08/2022' }), /runtime variable ds must be a date like 2022-08-18, got "18\/08\/2022"/);
  assert.throws(() => iso({ ds: '2022-02-30x' }), /runtime variable ds/);
  assert.throws(() => iso({ ds: '2022-02-30' }), /runtime variable ds must be a date like 2022-08-18, got "2022-02-30"/, 'a day that does not exist');
  assert.throws(() => iso({ execution_date: '2022-02-29T05:00:00Z' }), /runtime variable execution_date/);
  assert.throws(() => iso({ execution_date: 'yesterday' }), /runtime variable execution_date must be a date and time/);
  assert.throws(() => executionDateFrom({ ds: 20220818 }, now), /runtime variable ds/);
  assert.throws(() => iso({ ds: '2022-08-19', execution_date: '2022-08-18T00:00:00Z' }), /name different days/);
  // With an offset too: the day and time written must exist.
  assert.throws(() => iso({ execution_date: '2022-02-30T00:00:00+00:00' }), /runtime variable execution_date must be a date and time/);
  assert.throws(() => iso({ execution_date: '2022-08-18T24:00:00+00:00' }), /runtime variable execution_date/);
  assert.throws(() => iso({ execution_date: '2022-08-18T23:60:00Z' }), /runtime variable execution_date/);
});

test('hr with ds is the hour of the execution date; a bad or disagreeing hour is refused', () => {
  assert.equal(iso({ ds: '2022-08-18', hr: '05' }), '2022-08-18T05:00:00.000Z');
  assert.equal(executionDateFrom({ ds: '2022-08-18', hr: 23 }, now).toISOString(), '2022-08-18T23:00:00.000Z');
  assert.equal(iso({ execution_date: '2022-08-18T05:00:00Z', hr: '05' }), '2022-08-18T05:00:00.000Z');
  assert.throws(() => iso({ ds: '2022-08-18', hr: '24' }), /runtime variable hr must be an hour from 00 to 23, got "24"/);
  assert.throws(() => iso({ hr: '05' }), /hr is the hour of ds/);
  assert.throws(() => iso({ execution_date: '2022-08-18T06:00:00Z', hr: '05' }), /name different hours/);
  const parsed = parsePipeline('blocks: []\n', 'pipelines/p/metadata.yaml', 'p');
  assert.ok(parsed.ok);
  const variables = { ds: '2022-08-18', hr: '05' };
  const vars = runtimeVariables({ pipeline: parsed.value, variables, executionDate: executionDateFrom(variables, now), runId: 'r', triggerName: null });
  assert.deepEqual([vars.ds, vars.hr, vars.execution_date], ['2022-08-18', '05', '2022-08-18T05:00:00.000Z']);
});

test('every way of reading the date agrees once the run takes it', () => {
  const variables = { ds: '2022-08-18' };
  const executionDate = executionDateFrom(variables, now);
  const parsed = parsePipeline('blocks: []\n', 'pipelines/p/metadata.yaml', 'p');
  assert.ok(parsed.ok);
  const vars = runtimeVariables({ pipeline: parsed.value, variables, executionDate, runId: 'r', triggerName: null });
  assert.equal(vars.ds, '2022-08-18');
  assert.equal(vars.execution_date, '2022-08-18T00:00:00.000Z');
});
