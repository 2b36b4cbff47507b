import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeferredQueue } from '../../lib/store/deferred-queue';
import { MemoryQueue } from '../../lib/store/memory-queue';
import { jobQueueContract } from '../support/job-queue-contract';

// Opened on first use, it keeps the contract of the queue it opens.
jobQueueContract('deferred (in memory)', async () => {
  const queue = new DeferredQueue(async () => new MemoryQueue());
  return { queue, close: () => queue.close() };
});

test('the queue opens on its first use, once, and a store closed before any use never opens it', async () => {
  let opens = 0;
  const open = async () => {
    opens += 1;
    return new MemoryQueue();
  };
  const unused = new DeferredQueue(open);
  assert.doesNotThrow(() => unused.wake(), 'no loops to wake yet');
  unused.lend()();
  await unused.close();
  assert.equal(opens, 0, 'wake, lend and close open nothing');

  const used = new DeferredQueue(open);
  await Promise.all([used.enqueue('a'), used.enqueue('b'), used.pending()]);
  assert.equal(opens, 1, 'calls at the same time share one opening');
  assert.equal(await used.pending(), 2);
  await used.close();
  await assert.rejects(used.enqueue('c'), /closed/);
  assert.equal(opens, 1);
});

test('an opening that fails fails its call and the next call tries again', async () => {
  let attempts = 0;
  const queue = new DeferredQueue(async () => {
    attempts += 1;
    if (attempts === 1) throw new Error('database unreachable');
    return new MemoryQueue();
  });
  await assert.rejects(queue.enqueue('a'), /database unreachable/);
  await queue.enqueue('a');
  assert.equal(await queue.pending(), 1);
  assert.equal(attempts, 2);
  await queue.close();
});
