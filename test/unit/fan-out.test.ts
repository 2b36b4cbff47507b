import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FanOut, fanOutProblems, outputName, type FanBlock } from '../../lib/run/fan-out';
import { type BlockRunStatus } from '../../lib/run/states';

const b = (uuid: string, upstream: string[] = [], options: Partial<FanBlock> = {}): FanBlock => ({ uuid, upstream, dynamic: false, reduce: false, ...options });
const names = (fan: FanOut) => fan.all().map((n) => n.name);

describe('dynamic blocks fan out', () => {
  // list_months (dynamic) -> load_month -> clean_month (reduce) -> summary
  const plan = [b('list_months', [], { dynamic: true }), b('load_month', ['list_months']), b('clean_month', ['load_month'], { reduce: true }), b('summary', ['clean_month'])];

  test("a resumed run's block runs give back the keys a dynamic run fanned out, in the order they were made", () => {
    const fan = new FanOut(plan);
    const stored = ['list_months', 'load_month', 'clean_month', 'summary', 'load_month:mar', 'clean_month:mar', 'load_month:jan', 'clean_month:jan'];
    assert.deepEqual(fan.restoredKeys('list_months', stored), ['mar', 'jan']);
    assert.equal(fan.restoredKeys('list_months', ['list_months', 'load_month']), null, 'no child recorded');
    assert.equal(fan.restoredKeys('summary', stored), null, 'not a dynamic block');
    // Nested: a dynamic child's own children, not its grandchildren or its siblings'.
    const nested = new FanOut([b('years', [], { dynamic: true }), b('months', ['years'], { dynamic: true }), b('load', ['months'])]);
    nested.fanOut('years', ['y1', 'y2']);
    assert.deepEqual(nested.restoredKeys('months:y1', ['years', 'months:y1', 'months:y2', 'load:y1:m1', 'load:y2:m9', 'load:y1:m2']), ['m1', 'm2']);
    assert.deepEqual(nested.restoredKeys('years', ['years', 'months:y1', 'load:y1:m1', 'months:y2']), ['y1', 'y2']);
  });

  test('listed again, a dynamic run may add items but not lose one its children were made for', () => {
    const fan = new FanOut(plan);
    fan.fanOut('list_months', ['jan', 'feb']);
    assert.deepEqual(names(fan).filter((n) => n.startsWith('load_month:')), ['load_month:jan', 'load_month:feb']);
    assert.deepEqual(fan.fanOut('list_months', ['feb', 'jan', 'mar']).map((n) => n.name), ['load_month:mar', 'clean_month:mar']);
    assert.throws(() => fan.fanOut('list_months', ['jan', 'mar']), /its items changed since this run began: feb no longer listed/);
  });

  test('each item makes one child of every downstream block, named by its metadata', () => {
    const fan = new FanOut(plan);
    assert.deepEqual(
      fan.all().map((n) => [n.name, n.group]),
      [['list_months', false], ['load_month', true], ['clean_month', true], ['summary', false]],
    );
    const made = fan.fanOut('list_months', ['jan', 'feb', 'mar']);
    assert.deepEqual(
      made.map((n) => [n.name, n.upstream]),
      [
        ['load_month:jan', ['list_months']],
        ['clean_month:jan', ['load_month:jan']],
        ['load_month:feb', ['list_months']],
        ['clean_month:feb', ['load_month:feb']],
        ['load_month:mar', ['list_months']],
        ['clean_month:mar', ['load_month:mar']],
      ],
    );
    assert.deepEqual(fan.inputs('load_month:feb', ['list_months'], () => 'completed'), [{ kind: 'item', name: 'list_months', row: 1 }]);
    assert.deepEqual(fan.inputs('clean_month:feb', ['load_month'], () => 'completed'), [{ kind: 'output', name: 'load_month:feb' }]);
    // The reducing block's downstream reads every completed child at once, and waits for them all.
    assert.deepEqual(fan.get('summary')?.upstream, ['clean_month']);
    const status = new Map<string, BlockRunStatus>([['clean_month:feb', 'condition_failed']]);
    assert.deepEqual(fan.inputs('summary', ['clean_month'], (n) => status.get(n) ?? 'completed'), [{ kind: 'combined', names: ['clean_month:jan', 'clean_month:mar'] }]);
    assert.equal(outputName('clean_month:jan'), 'clean_month.jan');
  });

  test('keys that cannot name a block run, or name two, are refused', () => {
    const fan = new FanOut(plan);
    assert.throws(() => fan.fanOut('list_months', ['a', 'b', 'a']), /items 0 and 2 both have block_uuid "a"/);
    assert.throws(() => fan.fanOut('list_months', ['../x']), /item 0: block_uuid "\.\.\/x" must be letters/);
  });

  test('a dynamic child fans out again, with nested names', () => {
    const fan = new FanOut([b('years', [], { dynamic: true }), b('months', ['years'], { dynamic: true }), b('load', ['months'], { reduce: true }), b('year_total', ['load'])]);
    assert.deepEqual(fan.fanOut('years', ['0', '1']).map((n) => n.name), ['months:0', 'months:1']);
    // load reduces the inner level only: year_total runs once per year, reading that year's months.
    assert.deepEqual(fan.fanOut('months:1', ['0', '1']).map((n) => [n.name, n.upstream]), [
      ['load:1:0', ['months:1']],
      ['year_total:1', ['load']],
      ['load:1:1', ['months:1']],
    ]);
    assert.deepEqual(fan.inputs('load:1:1', ['months'], () => 'completed'), [{ kind: 'item', name: 'months:1', row: 1 }]);
    fan.fanOut('months:0', ['0']);
    assert.deepEqual(fan.inputs('year_total:1', ['load'], () => 'completed'), [{ kind: 'combined', names: ['load:1:0', 'load:1:1'] }]);
    assert.equal(fan.get('year_total')?.group, true);
  });

  test('a group ends when its upstream and children have, with their outcome', () => {
    const fan = new FanOut(plan);
    const status = new Map<string, BlockRunStatus>([['list_months', 'running']]);
    const of = (n: string) => status.get(n);
    assert.equal(fan.groupOutcome('load_month', of), null);
    status.set('list_months', 'completed');
    assert.deepEqual(fan.groupOutcome('load_month', of), { status: 'completed', message: 'no items to run' });
    fan.fanOut('list_months', ['0', '1']);
    assert.equal(fan.groupOutcome('load_month', of), null);
    status.set('load_month:0', 'completed');
    status.set('load_month:1', 'failed');
    assert.deepEqual(fan.groupOutcome('load_month', of), { status: 'failed', message: '1 of 2 children failed' });
    status.set('load_month:1', 'condition_failed');
    assert.deepEqual(fan.groupOutcome('load_month', of)?.status, 'completed');
    status.set('load_month:0', 'condition_failed');
    assert.deepEqual(fan.groupOutcome('load_month', of)?.status, 'condition_failed');
  });

  test('outputs are kept until every downstream block (all its children) has ended', () => {
    const fan = new FanOut(plan);
    fan.fanOut('list_months', ['0']);
    const status = new Map<string, BlockRunStatus>([['list_months', 'completed'], ['load_month:0', 'completed'], ['load_month', 'running']]);
    assert.deepEqual(fan.unneeded((n) => status.get(n)), []);
    status.set('load_month', 'completed');
    assert.deepEqual(fan.unneeded((n) => status.get(n)), ['list_months']);
  });

  test('a block reading two different fan-outs is a problem, named', () => {
    const problems = fanOutProblems([b('a', [], { dynamic: true }), b('b', [], { dynamic: true }), b('c', ['a', 'b'])]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /reads two different fan-outs \(a through a, b through b\)/);
    assert.deepEqual(fanOutProblems([b('a', [], { dynamic: true }), b('x', ['a']), b('c', ['a', 'x'])]), []);
    assert.match(fanOutProblems([b('a', [], { dynamic: true }), b('x', ['a'], { dynamic: true, reduce: true })])[0]?.message ?? '', /cannot both fan out again/);
  });
});
