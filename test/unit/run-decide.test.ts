import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideNext } from '../../lib/run/decide';
import { FanOut } from '../../lib/run/fan-out';
import { type DagNode } from '../../lib/pipeline/dag';
import { type BlockRunStatus } from '../../lib/run/states';

const n = (uuid: string, ...upstream: string[]): DagNode => ({ uuid, upstream });
const statuses = (entries: Record<string, BlockRunStatus>) => new Map(Object.entries(entries));

// a -> b -> d, a -> c -> d, d -> e
const nodes = [n('a'), n('b', 'a'), n('c', 'a'), n('d', 'b', 'c'), n('e', 'd')];

describe('decideNext', () => {
  test('at the start only blocks without upstream may start', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'queued', b: 'queued', c: 'queued', d: 'queued', e: 'queued' }) });
    assert.deepEqual(next, { start: ['a'], upstreamFailed: [], conditionFailed: [] });
  });

  test('initial blocks are also started', () => {
    const next = decideNext({ nodes: [n('x'), n('y')], statuses: statuses({ x: 'initial', y: 'queued' }) });
    assert.deepEqual(next.start, ['x', 'y']);
  });

  test('blocks whose upstreams all completed are ready, in node order', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'queued', c: 'queued', d: 'queued', e: 'queued' }) });
    assert.deepEqual(next, { start: ['b', 'c'], upstreamFailed: [], conditionFailed: [] });
  });

  test('a block waits while any upstream is still running or waiting', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'completed', c: 'running', d: 'queued', e: 'queued' }) });
    assert.deepEqual(next, { start: [], upstreamFailed: [], conditionFailed: [] });
  });

  test('running and finished blocks are never started again', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'running', c: 'completed', d: 'queued', e: 'queued' }) });
    assert.deepEqual(next, { start: [], upstreamFailed: [], conditionFailed: [] });
    const done = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'completed', c: 'completed', d: 'completed', e: 'completed' }) });
    assert.deepEqual(done, { start: [], upstreamFailed: [], conditionFailed: [] });
  });

  test('a failure marks every downstream upstream_failed, transitively, in one pass', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'failed', c: 'queued', d: 'queued', e: 'queued' }) });
    assert.deepEqual(next, { start: ['c'], upstreamFailed: ['d', 'e'], conditionFailed: [] });
  });

  test('a failure at the root fails the whole graph below it', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'failed', b: 'queued', c: 'queued', d: 'queued', e: 'queued' }) });
    assert.deepEqual(next, { start: [], upstreamFailed: ['b', 'c', 'd', 'e'], conditionFailed: [] });
  });

  test('cancelled and upstream_failed upstreams block too', () => {
    const cancelled = decideNext({ nodes, statuses: statuses({ a: 'cancelled', b: 'queued', c: 'queued', d: 'queued', e: 'queued' }) });
    assert.deepEqual(cancelled.upstreamFailed, ['b', 'c', 'd', 'e']);
    const marked = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'completed', c: 'completed', d: 'upstream_failed', e: 'queued' }) });
    assert.deepEqual(marked, { start: [], upstreamFailed: ['e'], conditionFailed: [] });
  });

  test('a failure blocks downstream even while another upstream still runs', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'failed', c: 'running', d: 'queued', e: 'queued' }) });
    assert.deepEqual(next, { start: [], upstreamFailed: ['d', 'e'], conditionFailed: [] });
  });

  test('blocks outside the plan are ignored, as upstreams and as nodes', () => {
    // Only clean and export are planned; load ran before and its output is cached.
    const planNodes = [n('load'), n('clean', 'load'), n('export', 'clean', 'other')];
    const next = decideNext({ nodes: planNodes, statuses: statuses({ clean: 'queued', export: 'queued' }) });
    assert.deepEqual(next, { start: ['clean'], upstreamFailed: [], conditionFailed: [] });
  });

  test('an unplanned upstream never blocks, whatever happened to it elsewhere', () => {
    const next = decideNext({ nodes: [n('b', 'a')], statuses: statuses({ b: 'queued' }) });
    assert.deepEqual(next, { start: ['b'], upstreamFailed: [], conditionFailed: [] });
  });

  test('a block skipped by its conditional skips its downstream blocks, which are not failures', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'condition_failed', c: 'completed', d: 'queued', e: 'queued' }) });
    assert.deepEqual(next, { start: [], upstreamFailed: [], conditionFailed: ['d', 'e'] });
    // A failure wins over a skip: d could never have run.
    const failed = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'condition_failed', c: 'failed', d: 'queued', e: 'queued' }) });
    assert.deepEqual(failed, { start: [], upstreamFailed: ['d', 'e'], conditionFailed: [] });
  });

  test('a group (a fanned-out block) never starts itself', () => {
    const next = decideNext({ nodes, statuses: statuses({ a: 'completed', b: 'queued', c: 'queued', d: 'queued', e: 'queued' }), groups: new Set(['b']) });
    assert.deepEqual(next.start, ['c']);
  });

  test('empty plan', () => {
    assert.deepEqual(decideNext({ nodes: [], statuses: new Map() }), { start: [], upstreamFailed: [], conditionFailed: [] });
  });

  test('driving a run to the end by applying decisions', () => {
    const status = statuses({ a: 'queued', b: 'queued', c: 'queued', d: 'queued', e: 'queued' });
    const started: string[][] = [];
    for (let round = 0; round < 10; round++) {
      const next = decideNext({ nodes, statuses: status });
      for (const u of next.upstreamFailed) status.set(u, 'upstream_failed');
      if (next.start.length === 0) break;
      started.push(next.start);
      // Every started block succeeds, except c.
      for (const u of next.start) status.set(u, u === 'c' ? 'failed' : 'completed');
    }
    assert.deepEqual(started, [['a'], ['b', 'c']]);
    assert.deepEqual(Object.fromEntries(status), { a: 'completed', b: 'completed', c: 'failed', d: 'upstream_failed', e: 'upstream_failed' });
  });
});

test('an output is unneeded once every block reading it has finished, however it finished', () => {
  const plan = [n('load'), n('clean', 'load'), n('to_pg', 'clean'), n('to_lake', 'clean')];
  const fan = new FanOut(plan.map((b) => ({ ...b, dynamic: false, reduce: false })));
  const at = (entries: [string, BlockRunStatus][]) => {
    const map = new Map(entries);
    return fan.unneeded((u) => map.get(u));
  };
  assert.deepEqual(at([['load', 'completed'], ['clean', 'running'], ['to_pg', 'queued'], ['to_lake', 'queued']]), []);
  assert.deepEqual(at([['load', 'completed'], ['clean', 'completed'], ['to_pg', 'running'], ['to_lake', 'running']]), ['load']);
  // One reader still running keeps clean; a failed reader counts as finished.
  assert.deepEqual(at([['load', 'completed'], ['clean', 'completed'], ['to_pg', 'failed'], ['to_lake', 'running']]), ['load']);
  assert.deepEqual(at([['load', 'completed'], ['clean', 'completed'], ['to_pg', 'failed'], ['to_lake', 'completed']]), ['load', 'clean']);
  // A block that did not complete has no output to drop; blocks nobody reads are not listed.
  assert.deepEqual(at([['load', 'failed'], ['clean', 'upstream_failed'], ['to_pg', 'upstream_failed'], ['to_lake', 'upstream_failed']]), []);
});
