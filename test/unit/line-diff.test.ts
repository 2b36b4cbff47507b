import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffCounts, lineDiff } from '../../lib/ui/line-diff';

test('a changed line shows as removed then added, the rest as the same', () => {
  const lines = lineDiff('a\nb\nc\n', 'a\nB\nc\n');
  assert.deepEqual(lines, [
    { kind: 'same', text: 'a' },
    { kind: 'removed', text: 'b' },
    { kind: 'added', text: 'B' },
    { kind: 'same', text: 'c' },
  ]);
  assert.deepEqual(diffCounts(lines), { added: 1, removed: 1 });
});

test('identical texts have no change; a file that is gone shows every line removed', () => {
  assert.deepEqual(diffCounts(lineDiff('x\ny\n', 'x\ny\n')), { added: 0, removed: 0 });
  assert.deepEqual(lineDiff('x\ny', ''), [
    { kind: 'removed', text: 'x' },
    { kind: 'removed', text: 'y' },
  ]);
});
