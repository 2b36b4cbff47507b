/**
 * Queues: `executor_config: { queue: heavy }` on a pipeline or a block sends that work only to
 * workers started with that queue (`grimoire worker --queue heavy`). A run whose next blocks belong
 * to another queue is handed to it and resumes there from its outputs so far; a run waiting for a
 * queue nobody serves says so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type PipelineRunStatus } from '../../lib/run/states';
import { type Store } from '../../lib/store/store';
import { Worker } from '../../lib/worker/worker';
import { tempProjects } from '../support/projects';
import { testStore } from '../support/store';

let env: Awaited<ReturnType<typeof testStore>>;
let store: Store;
let projects: Awaited<ReturnType<typeof tempProjects>>;
const workers: Worker[] = [];

before(async () => {
  env = await testStore();
  store = env.store;
  projects = await tempProjects({ queues: 'test/fixtures/projects/queues' });
});
after(async () => {
  for (const w of workers) await w.stop(0);
  await env?.close();
  await projects?.cleanup();
});

async function startWorker(queues?: string[]): Promise<Worker> {
  const w = new Worker({ store, projectsDir: projects.root, concurrency: 2, ...(queues ? { queues } : {}) });
  await w.start();
  workers.push(w);
  return w;
}

const FINISHED: PipelineRunStatus[] = ['completed', 'failed', 'cancelled'];
async function waitFor<T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function newRun(pipeline: string) {
  const run = await store.runs.create({ project: 'queues', pipeline, kind: 'manual', executionDate: new Date() });
  assert.ok(run);
  return run;
}

describe('queues (executor_config.queue, grimoire worker --queue)', () => {
  test('a pipeline on queue heavy waits, saying so, until a heavy worker takes it; a default worker never runs its blocks', async () => {
    const plain = await startWorker();
    const run = await newRun('heavy_only');
    // The default worker claims the job, sees the pipeline's queue, and hands the run over.
    const handed = await waitFor('the hand-off', async () => {
      const d = await store.runs.detail(run.id);
      return d && d.run.queue === 'heavy' && d.run.status === 'initial' ? d : null;
    });
    assert.ok(handed.events.some((e) => e.block_uuid === null && /handed to queue heavy: light runs on its workers/.test(e.message ?? '')), JSON.stringify(handed.events.map((e) => e.message)));
    assert.deepEqual(handed.attempts, [], 'no block ran on the default worker');
    assert.equal((await store.workers.servedQueues()).has('heavy'), false);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await store.runs.get(run.id))?.status, 'initial', 'nobody serves heavy: it keeps waiting');
    const heavy = await startWorker(['heavy']);
    assert.equal((await store.workers.servedQueues()).has('heavy'), true);
    const d = await waitFor('the run to finish', async () => {
      const x = await store.runs.detail(run.id);
      return x && FINISHED.includes(x.run.status) ? x : null;
    });
    assert.equal(d.run.status, 'completed', d.run.error ?? '');
    const claims = d.events.filter((e) => e.block_uuid === null && /claimed by worker/.test(e.message ?? '')).map((e) => e.message);
    assert.deepEqual(claims, [`claimed by worker ${plain.id}`, `claimed by worker ${heavy.id}`]);
    await heavy.stop(0);
    await plain.stop(0);
  });

  test('a block on queue heavy runs on a heavy worker between blocks on default workers, with the data passed along', async () => {
    const plain = await startWorker();
    const heavy = await startWorker(['heavy']);
    const run = await newRun('mixed');
    const d = await waitFor('the run to finish', async () => {
      const x = await store.runs.detail(run.id);
      return x && FINISHED.includes(x.run.status) ? x : null;
    });
    assert.equal(d.run.status, 'completed', d.run.error ?? '');
    // In the order of the run's history: who claimed it, and which block completed under each claim.
    const story = d.events
      .filter((e) => (e.block_uuid === null && /claimed by worker|handed to queue/.test(e.message ?? '')) || (e.block_uuid !== null && e.status === 'completed'))
      .map((e) => (e.block_uuid ? `${e.block_uuid} completed` : (e.message ?? '').replace(plain.id, 'default worker').replace(heavy.id, 'heavy worker')));
    assert.deepEqual(story, [
      'claimed by worker default worker',
      'light completed',
      'handed to queue heavy: big runs on its workers',
      'claimed by worker heavy worker',
      'big completed',
      'handed to queue default: tail runs on its workers',
      'claimed by worker default worker',
      'tail completed',
    ]);
    const logs = await store.logs.list(run.id, { search: 'tail: total' });
    assert.match(logs.map((l) => l.text).join('\n'), /tail: total 12/);
    assert.deepEqual(d.blocks.map((b) => [b.block_uuid, b.row_count]), [['light', 3], ['big', 3], ['tail', 1]]);
    await heavy.stop(0);
    await plain.stop(0);
  });

  test("a fanned-out block's children run on its queue's workers, and the reduced output comes back to the default ones", async () => {
    const plain = await startWorker();
    const heavy = await startWorker(['heavy']);
    const run = await newRun('fanned');
    const d = await waitFor('the run to finish', async () => {
      const x = await store.runs.detail(run.id);
      return x && FINISHED.includes(x.run.status) ? x : null;
    });
    assert.equal(d.run.status, "completed", JSON.stringify(d.events.map((e) => [e.block_uuid, e.status, e.message])));
    const story = d.events
      .filter((e) => (e.block_uuid === null && /claimed by worker|handed to queue/.test(e.message ?? '')) || (e.block_uuid !== null && e.status === 'completed'))
      .map((e) => (e.block_uuid ? `${e.block_uuid} completed` : (e.message ?? '').replace(plain.id, 'default worker').replace(heavy.id, 'heavy worker').replace(/: .*/, '')));
    const heavyClaim = story.indexOf('claimed by worker heavy worker');
    const backToDefault = story.indexOf('handed to queue default');
    assert.deepEqual(story.slice(0, 3), ['claimed by worker default worker', 'items completed', 'handed to queue heavy'], story.join('\n'));
    assert.ok(heavyClaim === 3 && backToDefault > heavyClaim, story.join('\n'));
    // Every child completed under the heavy worker's claim, and nothing of the fan-out anywhere else.
    const children = story.filter((line) => /^double_each:\d+ completed$/.test(line));
    assert.equal(children.length, 3, story.join('\n'));
    for (const child of children) {
      const at = story.indexOf(child);
      assert.ok(at > heavyClaim && at < backToDefault, `${child} outside the heavy worker's claim:\n${story.join('\n')}`);
    }
    assert.deepEqual(story.slice(backToDefault + 1), ['claimed by worker default worker', 'tail completed']);
    const logs = await store.logs.list(run.id, {});
    
    assert.match(logs.map((l) => l.text).join('\n'), /tail: total 12/);
    await heavy.stop(0);
    await plain.stop(0);
  });

  test('a wrong queue name fails the run with a message naming the file, block and field', async () => {
    await startWorker();
    const run = await newRun('bad_queue');
    const r = await waitFor('the run to fail', async () => {
      const x = await store.runs.get(run.id);
      return x && FINISHED.includes(x.status) ? x : null;
    });
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /pipelines\/bad_queue\/metadata\.yaml: block light: executor_config\.queue "Heavy Lifting" is not a queue name/);
  });
});
