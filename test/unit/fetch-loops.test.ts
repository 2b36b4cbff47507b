import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FetchLoops, type JobSource } from '../../lib/store/fetch-loops';

/** Jobs in a list, counting every fetch: what the loops ask of a queue. */
function listSource(): { source: JobSource<string>; jobs: string[]; fetches: () => number } {
  const jobs: string[] = [];
  let fetches = 0;
  return {
    jobs,
    fetches: () => fetches,
    source: {
      next: async () => {
        fetches++;
        return jobs.shift() ?? null;
      },
      runIdOf: (job) => job,
      settle: async () => undefined,
    },
  };
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// The poll is an hour: whatever happens below happens because of a wake.
const POLL_MS = 3_600_000;

test('a wake for one job costs a fetch or three, not one per sleeping loop', async () => {
  const { source, jobs, fetches } = listSource();
  const handled: string[] = [];
  const loops = new FetchLoops(source, async (id) => void handled.push(id), () => undefined, POLL_MS, 8);
  await until('every loop asleep after its first fetch', () => fetches() === 8, 1_000);
  jobs.push('run-1');
  loops.wake();
  await until('the job handled', () => handled.length === 1, 1_000);
  // Give any other loop time to fetch, if it were (wrongly) woken too.
  await new Promise((r) => setTimeout(r, 50));
  const afterWake = fetches() - 8;
  assert.ok(afterWake >= 1 && afterWake <= 3, `fetches after the wake: ${afterWake} (the loop that found the job, the one it woke, and that loop's fetch again after its job)`);
  assert.deepEqual(handled, ['run-1']);
  await loops.stop();
});

test('a backlog found after one wake brings every loop in', async () => {
  const { source, jobs } = listSource();
  let running = 0;
  let most = 0;
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => (release = r));
  const loops = new FetchLoops(
    source,
    async () => {
      running++;
      most = Math.max(most, running);
      await released;
      running--;
    },
    () => undefined,
    POLL_MS,
    4,
  );
  await new Promise((r) => setTimeout(r, 20));
  jobs.push('a', 'b', 'c', 'd', 'e');
  loops.wake();
  await until('four jobs in hand at once', () => most === 4, 1_000);
  release();
  await until('the fifth job taken', () => jobs.length === 0, 1_000);
  await loops.stop();
  assert.equal(most, 4);
});

test('a wake while every loop is fetching is not lost: a loop that found nothing fetches again', async () => {
  const jobs: string[] = [];
  const handled: string[] = [];
  let gate: () => void = () => undefined;
  let fetches = 0;
  const source: JobSource<string> = {
    next: async () => {
      fetches++;
      // The first fetch of the one loop is slow: the job arrives and is announced meanwhile.
      if (fetches === 1) await new Promise<void>((r) => (gate = r));
      return fetches === 1 ? null : (jobs.shift() ?? null);
    },
    runIdOf: (job) => job,
    settle: async () => undefined,
  };
  const loops = new FetchLoops(source, async (id) => void handled.push(id), () => undefined, POLL_MS, 1);
  await until('the first fetch under way', () => fetches === 1, 1_000);
  jobs.push('late');
  loops.wake();
  gate();
  await until('the job announced during the fetch handled', () => handled.length === 1, 1_000);
  await loops.stop();
});
