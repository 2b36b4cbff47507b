/**
 * A worker's kernel answers for a completed block before the output's Parquet copy is on disk
 * (outputCopies 'report'), so downstream blocks start at once; the store hears of the completion
 * only once the copy is saved, and a copy that fails records the block and the run failed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { type Store } from '../../lib/store/store';
import { executeRun } from '../../lib/worker/execute-run';
import { tempProjects } from '../support/projects';
import { testStore } from '../support/store';

let env: Awaited<ReturnType<typeof testStore>>;
let store: Store;
let projects: Awaited<ReturnType<typeof tempProjects>>;

before(async () => {
  env = await testStore();
  store = env.store;
  projects = await tempProjects({ orch: 'test/fixtures/projects/orchestration' });
});
after(async () => {
  await env?.close();
  await projects?.cleanup();
});

const dir = () => path.join(projects.root, 'orch');
const block = (uuid: string, upstream: string[] = []) => ({ uuid, type: 'data_loader' as const, language: 'typescript' as const, file: `data_loaders/${uuid}.ts`, upstream, configuration: {} });

test("a reported copy: the block is answered for, then outputSaved resolves with the Parquet file in place", async () => {
  const cacheDir = path.join(dir(), '.grimoire', 'copies-ok');
  const kernel = new KernelHost({ projectDir: dir(), dataDir: path.join(dir(), '.grimoire'), pipelineUuid: 'hello', cacheDir, outputCopies: 'report' });
  try {
    const outcome = await kernel.execute({ runId: 'r1', block: block('hello'), variables: { who: 'test' }, executionDate: '2024-01-05T05:00:00.000Z' });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    await kernel.outputSaved('r1', 'hello');
    assert.equal(existsSync(path.join(cacheDir, 'hello.parquet')), true);
  } finally {
    await kernel.close();
  }
});

test('a reported copy that fails rejects outputSaved with the reason; the block itself completed', async () => {
  // The cache folder is a file: the copy cannot be written.
  const cacheDir = path.join(dir(), '.grimoire', 'copies-blocked');
  await writeFile(cacheDir, 'not a folder');
  const kernel = new KernelHost({ projectDir: dir(), dataDir: path.join(dir(), '.grimoire'), pipelineUuid: 'hello', cacheDir, outputCopies: 'report' });
  try {
    const outcome = await kernel.execute({ runId: 'r2', block: block('hello'), variables: { who: 'test' }, executionDate: '2024-01-05T05:00:00.000Z' });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    await assert.rejects(kernel.outputSaved('r2', 'hello'), /could not save the output of hello as Parquet/);
  } finally {
    await kernel.close();
  }
});

test('a worker run whose output cannot be saved records that block failed, and the run failed, naming it', async () => {
  const run = await store.runs.create({ project: 'orch', pipeline: 'hello', kind: 'manual', executionDate: new Date('2024-01-05T05:00:00Z'), variables: {} });
  assert.ok(run);
  const runDir = path.join(dir(), '.grimoire', 'runs', run.id);
  await mkdir(runDir, { recursive: true });
  await writeFile(path.join(runDir, 'cache'), 'not a folder');
  const status = await executeRun({ store, run, projectsDir: projects.root, signal: new AbortController().signal });
  assert.equal(status, 'failed');
  const d = await store.runs.detail(run.id);
  assert.ok(d);
  assert.equal(d.run.status, 'failed');
  assert.match(d.run.error ?? '', /failed: hello/);
  const hello = d.blocks.find((b) => b.block_uuid === 'hello');
  assert.equal(hello?.status, 'failed');
  assert.match(JSON.stringify(hello?.error), /its output could not be saved/);
  assert.deepEqual(
    d.attempts.filter((a) => a.block_uuid === 'hello').map((a) => [a.attempt, a.status]),
    [[1, 'failed']],
  );
  // Never recorded completed: a resume would not trust an output that is not there.
  assert.equal(d.events.some((e) => e.block_uuid === 'hello' && e.status === 'completed'), false);
});
