import assert from 'node:assert/strict';
import { test } from 'node:test';
import { threadsFor } from '../../lib/kernel/thread-share';

test('a block alone gets every core; each block beyond the first takes one thread from the pool', () => {
  assert.equal(threadsFor(8, 0), 8);
  assert.equal(threadsFor(8, 1), 8);
  assert.equal(threadsFor(8, 2), 7);
  assert.equal(threadsFor(8, 4), 5);
  assert.equal(threadsFor(2, 2), 1);
});

test('the pool never goes below one thread, however many blocks run', () => {
  assert.equal(threadsFor(2, 5), 1);
  assert.equal(threadsFor(1, 1), 1);
  assert.equal(threadsFor(1, 3), 1);
});
