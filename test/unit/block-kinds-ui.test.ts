/** The notebook's and the graph's pure rules for the block kinds: the DAG, wiring, settings, fan-out lines, add-on badges, file keys. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachedAddOns, fanSummary } from '../../lib/ui/block-graph';
import { inDag, settingsOf, upstreamBelow, upstreamChoices } from '../../lib/ui/block-kinds';
import { statusLabel } from '../../lib/ui/block-labels';
import { addOnFileKey, parseFileKey } from '../../lib/ui/file-keys';
import { layoutBlocks, NODE_HEIGHT } from '../../lib/ui/graph-layout';

test('markdown blocks and scratchpads are outside the DAG: never an upstream, and a block added below one is not wired to it', () => {
  assert.deepEqual((['data_loader', 'sensor', 'markdown', 'scratchpad'] as const).map((t) => inDag(t)), [true, true, false, false]);
  const blocks = [
    { uuid: 'load', type: 'data_loader' as const },
    { uuid: 'notes', type: 'markdown' as const },
    { uuid: 'try_it', type: 'scratchpad' as const },
    { uuid: 'wait', type: 'sensor' as const },
  ];
  assert.deepEqual(upstreamChoices(blocks, 'load').map((b) => b.uuid), ['wait']);
  assert.deepEqual(upstreamBelow('transformer', blocks[0]), ['load']);
  assert.deepEqual(upstreamBelow('transformer', blocks[1]), []);
  assert.deepEqual(upstreamBelow('scratchpad', blocks[0]), ['load']);
  assert.deepEqual(upstreamBelow('markdown', blocks[0]), []);
  assert.deepEqual(upstreamBelow('data_loader', blocks[0]), []);
  assert.deepEqual(upstreamBelow('transformer', undefined), []);
});

test('each kind has its settings: fan-out for data blocks, poke settings for sensors, nothing to run for a note', () => {
  assert.deepEqual(settingsOf('transformer'), { upstream: true, runs: true, fanOut: true, sensor: false, destination: true });
  assert.deepEqual(settingsOf('sensor'), { upstream: true, runs: true, fanOut: false, sensor: true, destination: false });
  assert.deepEqual(settingsOf('markdown'), { upstream: false, runs: false, fanOut: false, sensor: false, destination: false });
  assert.deepEqual(settingsOf('scratchpad'), { upstream: true, runs: true, fanOut: false, sensor: false, destination: false });
});

test('a stacked node says how many children ran and how they ended, most common first', () => {
  const status: Record<string, string> = { 'a:0': 'completed', 'a:1': 'completed', 'a:2': 'failed', 'a:3': 'condition_failed' };
  assert.equal(fanSummary(['a:0', 'a:1', 'a:2'], (c) => status[c] ?? 'initial'), '×3 · 2 completed, 1 failed');
  assert.equal(fanSummary(['a:0', 'a:1'], (c) => status[c] ?? 'initial'), '×2 · 2 completed');
  assert.equal(fanSummary(['a:3', 'a:9'], (c) => status[c] ?? 'initial'), '×2 · 1 condition failed, 1 initial');
  assert.equal(fanSummary([], () => 'completed'), '×0');
  assert.equal(statusLabel('upstream_failed'), 'upstream failed');
});

test('add-ons attached to a block: conditionals first, then callbacks, only those that name it', () => {
  const addOns = {
    conditionals: [{ uuid: 'weekdays', upstream: ['export'] }, { uuid: 'flag', upstream: ['load', 'export'] }],
    callbacks: [{ uuid: 'notify', upstream: ['export'] }, { uuid: 'other', upstream: ['load'] }],
  };
  assert.deepEqual(attachedAddOns('export', addOns), [
    { kind: 'conditional', uuid: 'weekdays' },
    { kind: 'conditional', uuid: 'flag' },
    { kind: 'callback', uuid: 'notify' },
  ]);
  assert.deepEqual(attachedAddOns('clean', addOns), []);
});

test('file keys: a block is its uuid, an add-on its folder and uuid, and the two never meet', () => {
  assert.equal(addOnFileKey('conditional', 'load'), 'conditionals/load');
  assert.deepEqual(parseFileKey('conditionals/load'), { kind: 'add_on', addOn: 'conditional', uuid: 'load' });
  assert.deepEqual(parseFileKey('callbacks/notify'), { kind: 'add_on', addOn: 'callback', uuid: 'notify' });
  assert.deepEqual(parseFileKey('load'), { kind: 'block', uuid: 'load' });
  assert.deepEqual(parseFileKey('transformers/x'), { kind: 'block', uuid: 'transformers/x' });
});

test('a taller node (badges, a fan-out line) pushes the next rank down', () => {
  const flat = layoutBlocks([{ uuid: 'a', upstream: [] }, { uuid: 'b', upstream: ['a'] }]);
  const tall = layoutBlocks([{ uuid: 'a', upstream: [], height: NODE_HEIGHT + 40 }, { uuid: 'b', upstream: ['a'] }]);
  const gap = (p: Map<string, { x: number; y: number }>, h: number) => (p.get('b')?.y ?? NaN) - ((p.get('a')?.y ?? NaN) + h);
  // The space between the bottom of a and the top of b is the same: a's extra height is not overlapped.
  assert.equal(Math.round(gap(tall, NODE_HEIGHT + 40)), Math.round(gap(flat, NODE_HEIGHT)));
  assert.ok((tall.get('b')?.y ?? 0) > (flat.get('b')?.y ?? 0));
});
