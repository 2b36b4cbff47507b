import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layoutBlocks } from '../../lib/ui/graph-layout';

test('blocks are laid out top to bottom along their edges', () => {
  const p = layoutBlocks([
    { uuid: 'a', upstream: [] },
    { uuid: 'b', upstream: ['a'] },
    { uuid: 'c', upstream: ['a'] },
    { uuid: 'd', upstream: ['b', 'c', 'ghost'] },
  ]);
  const y = (k: string) => p.get(k)?.y ?? NaN;
  assert.ok(y('a') < y('b') && y('b') === y('c') && y('c') < y('d'));
  assert.notEqual(p.get('b')?.x, p.get('c')?.x);
});
