import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ancestors, descendants, downstreamOf, findCycle, topologicalOrder, type DagNode } from '../../lib/pipeline/dag';

const n = (uuid: string, ...upstream: string[]): DagNode => ({ uuid, upstream });

// a -> b, a -> c, b -> d, c -> d
const diamond = [n('a'), n('b', 'a'), n('c', 'a'), n('d', 'b', 'c')];

describe('topologicalOrder', () => {
  test('empty pipeline', () => {
    assert.deepEqual(topologicalOrder([]), []);
  });

  test('independent blocks keep YAML order', () => {
    assert.deepEqual(topologicalOrder([n('z'), n('a'), n('m')]), ['z', 'a', 'm']);
  });

  test('diamond', () => {
    assert.deepEqual(topologicalOrder(diamond), ['a', 'b', 'c', 'd']);
  });

  test('diamond listed with the join first and branches swapped', () => {
    assert.deepEqual(topologicalOrder([n('d', 'b', 'c'), n('c', 'a'), n('b', 'a'), n('a')]), ['a', 'c', 'b', 'd']);
  });

  test('downstream listed before its upstream still comes after it', () => {
    assert.deepEqual(topologicalOrder([n('clean', 'load'), n('load')]), ['load', 'clean']);
  });

  test('among ready blocks the one listed first goes first, even when it became ready later', () => {
    // x is listed first but waits for y; once y is done, x (position 0) beats w (position 2).
    const order = topologicalOrder([n('x', 'y'), n('y'), n('w'), n('v', 'x')]);
    assert.deepEqual(order, ['y', 'x', 'w', 'v']);
  });

  test('stable: same input gives the same order every time', () => {
    const nodes = [n('e', 'c'), n('a'), n('c', 'a'), n('b'), n('d', 'b', 'a')];
    const first = topologicalOrder(nodes);
    assert.deepEqual(first, ['a', 'c', 'e', 'b', 'd']);
    for (let i = 0; i < 5; i++) assert.deepEqual(topologicalOrder(nodes), first);
  });

  test('every block comes after all of its upstreams', () => {
    const nodes = [n('f', 'e', 'a'), n('e', 'd'), n('d', 'b', 'c'), n('c', 'a'), n('b', 'a'), n('a')];
    const order = topologicalOrder(nodes);
    assert.equal(order.length, nodes.length);
    for (const node of nodes) for (const up of node.upstream) assert.ok(order.indexOf(up) < order.indexOf(node.uuid), `${up} before ${node.uuid}`);
  });

  test('an upstream listed twice counts once', () => {
    assert.deepEqual(topologicalOrder([n('b', 'a', 'a'), n('a')]), ['a', 'b']);
  });

  test('unknown upstream names are ignored', () => {
    assert.deepEqual(topologicalOrder([n('b', 'ghost'), n('a')]), ['b', 'a']);
  });

  test('throws on a cycle', () => {
    assert.throws(() => topologicalOrder([n('a', 'b'), n('b', 'a')]), /cycle/);
    assert.throws(() => topologicalOrder([n('a', 'a')]), /cycle/);
  });
});

describe('downstreamOf', () => {
  test('derives downstream lists from upstream edges', () => {
    const down = downstreamOf(diamond);
    assert.deepEqual(down.get('a'), ['b', 'c']);
    assert.deepEqual(down.get('b'), ['d']);
    assert.deepEqual(down.get('c'), ['d']);
    assert.deepEqual(down.get('d'), []);
  });

  test('unknown upstreams do not create entries', () => {
    const down = downstreamOf([n('a', 'ghost')]);
    assert.equal(down.has('ghost'), false);
    assert.deepEqual([...down.keys()], ['a']);
  });
});

describe('ancestors / descendants', () => {
  test('diamond ancestors', () => {
    assert.deepEqual(ancestors(diamond, 'd'), new Set(['a', 'b', 'c']));
    assert.deepEqual(ancestors(diamond, 'b'), new Set(['a']));
    assert.deepEqual(ancestors(diamond, 'a'), new Set());
  });

  test('diamond descendants', () => {
    assert.deepEqual(descendants(diamond, 'a'), new Set(['b', 'c', 'd']));
    assert.deepEqual(descendants(diamond, 'c'), new Set(['d']));
    assert.deepEqual(descendants(diamond, 'd'), new Set());
  });

  test('transitive over a chain and exclusive of unrelated blocks', () => {
    const nodes = [n('a'), n('b', 'a'), n('c', 'b'), n('other')];
    assert.deepEqual(ancestors(nodes, 'c'), new Set(['a', 'b']));
    assert.deepEqual(descendants(nodes, 'a'), new Set(['b', 'c']));
    assert.equal(descendants(nodes, 'a').has('other'), false);
  });

  test('the block itself is never included, even in a cycle', () => {
    const nodes = [n('a', 'b'), n('b', 'a')];
    assert.deepEqual(ancestors(nodes, 'a'), new Set(['b']));
    assert.deepEqual(descendants(nodes, 'a'), new Set(['b']));
  });

  test('unknown upstream names and unknown blocks give nothing extra', () => {
    const nodes = [n('a', 'ghost'), n('b', 'a')];
    assert.deepEqual(ancestors(nodes, 'b'), new Set(['a']));
    assert.deepEqual(ancestors(nodes, 'nope'), new Set());
    assert.deepEqual(descendants(nodes, 'nope'), new Set());
  });
});

describe('findCycle', () => {
  test('no cycle', () => {
    assert.equal(findCycle([]), null);
    assert.equal(findCycle(diamond), null);
    assert.equal(findCycle([n('a', 'ghost')]), null);
  });

  test('two-block cycle reads a -> b -> a', () => {
    assert.deepEqual(findCycle([n('a', 'b'), n('b', 'a')]), ['a', 'b', 'a']);
  });

  test('self-cycle reads a -> a', () => {
    assert.deepEqual(findCycle([n('x'), n('a', 'a')]), ['a', 'a']);
  });

  test('three-block cycle is given in data-flow order', () => {
    // load feeds clean, clean feeds export, export feeds load.
    const cycle = findCycle([n('load', 'export'), n('clean', 'load'), n('export', 'clean')]);
    assert.deepEqual(cycle, ['load', 'clean', 'export', 'load']);
  });

  test('cycle reached through a block outside it holds only the cycle', () => {
    const cycle = findCycle([n('d', 'a'), n('a', 'b'), n('b', 'a'), n('root')]);
    assert.ok(cycle);
    assert.equal(cycle.includes('d'), false);
    assert.equal(cycle[0], cycle[cycle.length - 1]);
    assert.deepEqual(new Set(cycle), new Set(['a', 'b']));
  });

  test('every step of the path is a real edge in data-flow order', () => {
    const nodes = [n('p'), n('q', 'p', 't'), n('r', 'q'), n('s', 'r'), n('t', 's')];
    const cycle = findCycle(nodes);
    assert.ok(cycle);
    assert.equal(cycle[0], cycle[cycle.length - 1]);
    const ups = new Map(nodes.map((x) => [x.uuid, x.upstream]));
    for (let i = 0; i + 1 < cycle.length; i++) {
      const from: string = cycle[i] ?? '';
      const to: string = cycle[i + 1] ?? '';
      assert.ok(ups.get(to)?.includes(from), `${from} -> ${to} is an edge`);
    }
    assert.equal(cycle.length, 5);
  });
});
