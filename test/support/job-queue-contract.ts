import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type JobQueue } from '../../lib/store/job-queue';

export interface QueueUnderTest<Tx> {
  queue: JobQueue<Tx>;
  /** Closes the queue and whatever the factory made for it (a pool, a schema). */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; fails with `what` after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Calls `wake` every 100 ms while `during` runs, as the workers' NOTIFY listener would on each enqueue. */
async function waking<T>(queue: { wake(): void }, during: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => queue.wake(), 100);
  try {
    return await during();
  } finally {
    clearInterval(timer);
  }
}

/** Handler deliveries, in order, with the time each began. */
function recorder() {
  const deliveries: { runId: string; at: number }[] = [];
  return {
    deliveries,
    ids: () => deliveries.map((d) => d.runId),
    handler: async (runId: string) => {
      deliveries.push({ runId, at: Date.now() });
    },
  };
}

/** An onError for cases that expect none: collects them, and `check` fails the case if any came. */
function noErrors(): { onError: (e: unknown) => void; check: () => void } {
  const errors: unknown[] = [];
  return {
    onError: (e) => errors.push(e),
    check: () => assert.deepEqual(errors.map(String), [], 'onError heard something'),
  };
}

/** A promise to hold handlers on, and the function that lets them all go. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/**
 * The contract every JobQueue keeps (lib/store/job-queue.ts), run against each implementation from
 * its own test file. `open` makes a fresh, empty queue per case; it must poll no more often than
 * every 2 s (as pg-boss's loops do), or the wake case could not tell a wake from a poll.
 */
export function jobQueueContract<Tx>(name: string, open: () => Promise<QueueUnderTest<Tx>>): void {
  const withQueue = (title: string, body: (queue: JobQueue<Tx>) => Promise<void>) =>
    test(title, async () => {
      const q = await open();
      try {
        await body(q.queue);
      } finally {
        await q.close();
      }
    });

  describe(`job queue contract: ${name}`, () => {
    withQueue('delivers each job to the handler once, and counts it pending until it is handled', async (queue) => {
      for (const id of ['a', 'b', 'c']) await queue.enqueue(id);
      assert.equal(await queue.pending(), 3);
      const r = recorder();
      const errs = noErrors();
      const stop = await queue.work(2, r.handler, errs.onError);
      await waking(queue, async () => {
        await until('3 deliveries', () => r.deliveries.length === 3);
        await sleep(400);
      });
      await stop();
      errs.check();
      assert.deepEqual(r.ids().sort(), ['a', 'b', 'c'], 'each job once, none twice');
      await until('no job pending', async () => (await queue.pending()) === 0);
    });

    withQueue('a job waits in its queue: only loops working that queue fetch it, in the order they list their queues', async (queue) => {
      await queue.enqueue('plain');
      await queue.enqueue('big', { queue: 'heavy' });
      const plain = recorder();
      const errs = noErrors();
      const stopPlain = await queue.work(1, plain.handler, errs.onError);
      await waking(queue, async () => {
        await until('the default job', () => plain.deliveries.length === 1);
        await sleep(400);
      });
      await stopPlain();
      assert.deepEqual(plain.ids(), ['plain'], 'a worker of the default queue never takes a heavy job');
      await queue.enqueue('plain2');
      const both = recorder();
      const stopBoth = await queue.work(1, both.handler, errs.onError, ['heavy', 'default']);
      await waking(queue, () => until('both jobs', () => both.deliveries.length === 2));
      await stopBoth();
      errs.check();
      assert.deepEqual(both.ids(), ['big', 'plain2'], 'heavy first, as listed');
      await until('no job pending', async () => (await queue.pending()) === 0);
    });

    withQueue('runs at most `concurrency` handlers at once', async (queue) => {
      const hold = gate();
      let inFlight = 0;
      let most = 0;
      let handled = 0;
      const errs = noErrors();
      const stop = await queue.work(
        2,
        async () => {
          inFlight++;
          most = Math.max(most, inFlight);
          await hold.wait;
          inFlight--;
          handled++;
        },
        errs.onError,
      );
      for (const id of ['a', 'b', 'c', 'd', 'e']) await queue.enqueue(id);
      await waking(queue, async () => {
        await until('2 handlers running', () => inFlight === 2);
        // Time for a loop that ignores the cap to take a third job.
        await sleep(500);
        assert.equal(most, 2, 'a third handler started while two were running');
        hold.open();
        await until('all 5 handled', () => handled === 5);
      });
      await stop();
      errs.check();
      assert.equal(most, 2);
    });

    withQueue('a handler waiting on another job lends a slot: with concurrency 1 the other job still runs, then the slot goes back', async (queue) => {
      const errs = noErrors();
      const seen: string[] = [];
      let childDone!: () => void;
      const childRan = new Promise<void>((resolve) => (childDone = resolve));
      let inFlight = 0;
      let most = 0;
      const stop = await queue.work(
        1,
        async (runId) => {
          seen.push(runId);
          inFlight++;
          most = Math.max(most, inFlight);
          try {
            if (runId === 'parent') {
              const giveBack = queue.lend();
              try {
                await queue.enqueue('child');
                queue.wake();
                await childRan;
              } finally {
                giveBack();
              }
            } else if (runId === 'child') childDone();
          } finally {
            inFlight--;
          }
        },
        errs.onError,
      );
      await queue.enqueue('parent');
      await waking(queue, () => until('parent and child handled', () => seen.includes('child') && inFlight === 0, 8_000));
      // Given back: with one slot again, two jobs run one after the other.
      most = 0;
      await queue.enqueue('x');
      await queue.enqueue('y');
      await waking(queue, async () => {
        await until('x and y handled', () => seen.includes('x') && seen.includes('y') && inFlight === 0, 8_000);
      });
      await stop();
      errs.check();
      assert.equal(most, 1, 'the lent slot was given back');
    });

    withQueue('an enqueue is one delivery: a run enqueued twice is delivered twice (the claim in the store decides)', async (queue) => {
      await queue.enqueue('same');
      await queue.enqueue('same');
      const r = recorder();
      const errs = noErrors();
      const stop = await queue.work(1, r.handler, errs.onError);
      await waking(queue, async () => {
        await until('2 deliveries', () => r.deliveries.length === 2);
        await sleep(400);
      });
      await stop();
      errs.check();
      assert.deepEqual(r.ids(), ['same', 'same']);
    });

    withQueue('startAfter holds a job back until its time, and only that job', async (queue) => {
      const startAfter = new Date(Date.now() + 1_500);
      await queue.enqueue('later', { startAfter });
      await queue.enqueue('now');
      assert.equal(await queue.pending(), 2, 'a delayed job is pending');
      const r = recorder();
      const errs = noErrors();
      const stop = await queue.work(1, r.handler, errs.onError);
      await waking(queue, () => until('the delayed job', () => r.deliveries.length === 2, 6_000));
      await stop();
      errs.check();
      const [first, second] = r.deliveries;
      assert.equal(first?.runId, 'now');
      assert.ok(first.at < startAfter.getTime(), 'the job without startAfter was not held back');
      assert.equal(second?.runId, 'later');
      assert.ok(second.at >= startAfter.getTime(), `delivered ${startAfter.getTime() - second.at} ms before its startAfter`);
    });

    withQueue('wake() fetches at once instead of at the next poll', async (queue) => {
      const r = recorder();
      const errs = noErrors();
      const stop = await queue.work(1, r.handler, errs.onError);
      // The loop has found nothing and sleeps until its next poll.
      await sleep(300);
      await queue.enqueue('x');
      const woken = Date.now();
      queue.wake();
      // Without the wake the next poll comes ~1.7 s from now; 1.4 s leaves room for a slow machine.
      await until('the delivery after wake()', () => r.deliveries.length === 1, 1_400);
      await stop();
      errs.check();
      assert.ok(r.deliveries[0]!.at - woken < 1_400);
    });

    withQueue('stop() waits for the handler in flight, and nothing is delivered after it', async (queue) => {
      const hold = gate();
      let returned = false;
      const r = recorder();
      const errs = noErrors();
      const stop = await queue.work(
        1,
        async (runId) => {
          await r.handler(runId);
          await hold.wait;
          returned = true;
        },
        errs.onError,
      );
      await queue.enqueue('a');
      await waking(queue, () => until('a delivered', () => r.deliveries.length === 1));
      let returnedAtStop: boolean | null = null;
      const stopping = stop().then(() => {
        returnedAtStop = returned;
      });
      await sleep(300);
      assert.equal(returnedAtStop, null, 'stop() resolved while its handler was still running');
      hold.open();
      await stopping;
      errs.check();
      assert.equal(returnedAtStop, true, 'the handler had returned when stop() resolved');
      await queue.enqueue('b');
      await waking(queue, () => sleep(600));
      assert.deepEqual(r.ids(), ['a'], 'a job was delivered after stop()');
      assert.equal(await queue.pending(), 1, 'b waits for another worker');
    });

    withQueue('a handler that throws is reported to onError, its job is not redelivered, and the loop goes on', async (queue) => {
      const errors: unknown[] = [];
      const r = recorder();
      const stop = await queue.work(
        1,
        async (runId) => {
          await r.handler(runId);
          if (runId === 'bad') throw new Error('boom in the handler');
        },
        (e) => errors.push(e),
      );
      await queue.enqueue('bad');
      await queue.enqueue('good');
      await waking(queue, async () => {
        await until('both delivered', () => r.deliveries.length >= 2);
        await sleep(400);
      });
      await stop();
      assert.deepEqual(r.ids(), ['bad', 'good']);
      assert.equal(errors.length, 1);
      assert.match(errors[0] instanceof Error ? errors[0].message : String(errors[0]), /boom in the handler/);
      await until('no job pending', async () => (await queue.pending()) === 0);
    });
  });
}
