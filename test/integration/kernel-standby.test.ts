/**
 * A worker's standby kernel: started ahead of need, adopted by the next run's host (its first
 * block does not wait for a kernel to start), told its pipeline by the init message, and seen by
 * blocks exactly like a kernel started afresh. A dead spare is never adopted; closing ends it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { processAlive } from '../../lib/kernel/spill';
import { KernelStandby } from '../../lib/kernel/standby';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;

before(async () => {
  project = await writeProject('standby', {
    'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: env_dump, type: data_loader, language: typescript }\n',
    'data_loaders/env_dump.ts':
      'export default async function env_dump() {\n  return [{ cwd: process.cwd(), grimoire: Object.keys(process.env).filter((k) => k.startsWith("GRIMOIRE_")).sort().join(","), pipeline: process.env.GRIMOIRE_PIPELINE ?? "" }];\n}\n',
  });
});
after(async () => {
  await project?.cleanup();
});

const block = { uuid: 'env_dump', type: 'data_loader' as const, language: 'typescript' as const, file: 'data_loaders/env_dump.ts', upstream: [], configuration: {} };

async function waitForSpare(standby: KernelStandby): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const pid = standby.sparePid;
    if (pid !== undefined) return pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no spare kernel started');
}

test('a host adopts the spare kernel; its block sees the project folder and the settings of a fresh kernel', async () => {
  const standby = new KernelStandby({ cwd: project.root });
  standby.fill();
  const spare = await waitForSpare(standby);
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: path.join(project.dir, '.grimoire'), pipelineUuid: 'p', cacheDir: null, standby });
  after(() => standby.close());
  try {
    const outcome = await kernel.execute({ runId: 'r1', block, variables: {}, executionDate: '2024-01-05T05:00:00.000Z' });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    assert.equal(kernel.pid, spare, 'the spare kernel ran the block');
    assert.equal(standby.sparePid, undefined, 'taken, and no new spare while the run goes on');
    const row = outcome.status === 'completed' ? outcome.preview?.rows[0] : undefined;
    assert.deepEqual(row, {
      cwd: project.dir,
      grimoire: 'GRIMOIRE_CACHE_DIR,GRIMOIRE_DATA_DIR,GRIMOIRE_OUTPUT_COPIES,GRIMOIRE_PIPELINE,GRIMOIRE_PROJECT_DIR',
      pipeline: 'p',
    });
  } finally {
    await kernel.close();
  }
  // The run is over: the next spare starts for the next run.
  const next = await waitForSpare(standby);
  assert.notEqual(next, spare);
  await standby.close();
  assert.equal(processAlive(next), false, 'closing the standby ends its spare');
  standby.fill();
  assert.equal(standby.sparePid, undefined, 'a closed standby starts no spare');
});

test('a spare that died is not adopted: the host starts a kernel of its own', async () => {
  const standby = new KernelStandby({ cwd: project.root });
  standby.fill();
  const spare = await waitForSpare(standby);
  process.kill(spare, 'SIGKILL');
  for (let i = 0; i < 100 && processAlive(spare); i++) await new Promise((r) => setTimeout(r, 20));
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: path.join(project.dir, '.grimoire'), pipelineUuid: 'p', cacheDir: null, standby });
  try {
    const outcome = await kernel.execute({ runId: 'r2', block, variables: {}, executionDate: '2024-01-05T05:00:00.000Z' });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    assert.notEqual(kernel.pid, spare);
  } finally {
    await kernel.close();
    await standby.close();
  }
});
