import { MemoryQueue } from '../../lib/store/memory-queue';
import { jobQueueContract } from '../support/job-queue-contract';

// The in-memory queue keeps the pg-boss queue's contract, so unit tests that use it stand for the real one.
jobQueueContract('in memory', async () => {
  const queue = new MemoryQueue();
  return { queue, close: () => queue.close() };
});
