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
