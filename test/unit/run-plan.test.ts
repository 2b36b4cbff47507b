import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planRun } from '../../lib/run/plan';
import { type DagNode } from '../../lib/pipeline/dag';

const n = (uuid: string, ...upstream: string[]): DagNode => ({ uuid, upstream });

// load_a -> clean -> join -> export, load_b -> join, load_b -> audit; side is unrelated.
const nodes = [n('export', 'join'), n('load_a'), n('side'), n('join', 'clean', 'load_b'), n('clean', 'load_a'), n('load_b'), n('audit', 'load_b')];

describe('planRun', () => {
  test('pipeline: every block in dependency order, ties by YAML order', () => {
    assert.deepEqual(planRun(nodes, { kind: 'pipeline' }), ['load_a', 'side', 'clean', 'load_b', 'join', 'export', 'audit']);
  });

  test('pipeline: empty', () => {
    assert.deepEqual(planRun([], { kind: 'pipeline' }), []);
  });

  test('block: just that block', () => {
    assert.deepEqual(planRun(nodes, { kind: 'block', block: 'join' }), ['join']);
    assert.deepEqual(planRun(nodes, { kind: 'block', block: 'load_a' }), ['load_a']);
  });

  test('with_upstream: the block and all its ancestors, in order', () => {
    assert.deepEqual(planRun(nodes, { kind: 'with_upstream', block: 'export' }), ['load_a', 'clean', 'load_b', 'join', 'export']);
    assert.deepEqual(planRun(nodes, { kind: 'with_upstream', block: 'audit' }), ['load_b', 'audit']);
    assert.deepEqual(planRun(nodes, { kind: 'with_upstream', block: 'load_a' }), ['load_a']);
  });

  test('downstream: the block and all its descendants, in order', () => {
    assert.deepEqual(planRun(nodes, { kind: 'downstream', block: 'load_b' }), ['load_b', 'join', 'export', 'audit']);
    assert.deepEqual(planRun(nodes, { kind: 'downstream', block: 'clean' }), ['clean', 'join', 'export']);
    assert.deepEqual(planRun(nodes, { kind: 'downstream', block: 'export' }), ['export']);
  });

  test('diamond', () => {
    const diamond = [n('a'), n('b', 'a'), n('c', 'a'), n('d', 'b', 'c')];
    assert.deepEqual(planRun(diamond, { kind: 'with_upstream', block: 'd' }), ['a', 'b', 'c', 'd']);
    assert.deepEqual(planRun(diamond, { kind: 'downstream', block: 'a' }), ['a', 'b', 'c', 'd']);
    assert.deepEqual(planRun(diamond, { kind: 'with_upstream', block: 'c' }), ['a', 'c']);
    assert.deepEqual(planRun(diamond, { kind: 'downstream', block: 'b' }), ['b', 'd']);
  });

  test('an unknown block is an error for every block scope', () => {
    const kinds: ('block' | 'with_upstream' | 'downstream')[] = ['block', 'with_upstream', 'downstream'];
    for (const kind of kinds) {
      assert.throws(() => planRun(nodes, { kind, block: 'nope' }), /block "nope" is not in this pipeline/, kind);
    }
  });

  test('a cycle is an error', () => {
    assert.throws(() => planRun([n('a', 'b'), n('b', 'a')], { kind: 'pipeline' }), /cycle/);
    assert.throws(() => planRun([n('a', 'b'), n('b', 'a'), n('c')], { kind: 'block', block: 'c' }), /cycle/);
  });
});
