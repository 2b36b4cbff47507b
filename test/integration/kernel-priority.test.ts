/**
 * Kernels run below their host's CPU priority (kernel-priority.ts): on a busy machine, claiming
 * and recording runs is served before the blocks' computing. Checked from inside a block, for a
 * kernel started afresh and for a worker's standby, and in the block's scheduling group where
 * Linux has one; GRIMOIRE_KERNEL_NICE=0 keeps kernels at the host's priority.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { KernelStandby } from '../../lib/kernel/standby';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;

before(async () => {
  project = await writeProject('priority', {
    'pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: own_priority, type: data_loader, language: typescript }\n',
    'data_loaders/own_priority.ts':
      'import os from "node:os";\nimport { existsSync, readFileSync } from "node:fs";\nexport default async function own_priority() {\n  const group = existsSync("/proc/self/autogroup") ? readFileSync("/proc/self/autogroup", "utf8").trim() : "";\n  return [{ nice: os.getPriority(), group }];\n}\n',
  });
});
after(async () => {
  await project?.cleanup();
});

const block = { uuid: 'own_priority', type: 'data_loader' as const, language: 'typescript' as const, file: 'data_loaders/own_priority.ts', upstream: [], configuration: {} };

async function priorityInBlock(standby?: KernelStandby): Promise<{ nice: number; group: string }> {
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: path.join(project.dir, '.grimoire'), pipelineUuid: 'p', cacheDir: null, standby });
  try {
    const outcome = await kernel.execute({ runId: 'r1', block, variables: {}, executionDate: '2024-01-05T05:00:00.000Z' });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    const row = outcome.status === 'completed' ? outcome.preview?.rows[0] : undefined;
    const nice = row?.nice;
    const group = row?.group;
    assert.ok(typeof nice === 'number' && typeof group === 'string', JSON.stringify(row));
    return { nice, group };
  } finally {
    await kernel.close();
  }
}

const hostNice = os.getPriority();
const autogroup = existsSync('/proc/self/autogroup');

test('a kernel started afresh runs 5 below its host, its scheduling group too', async () => {
  const seen = await priorityInBlock();
  assert.equal(seen.nice, Math.min(19, hostNice + 5));
  if (autogroup) assert.match(seen.group, new RegExp(` nice ${Math.min(19, hostNice + 5)}$`));
});

test("a worker's standby kernel runs below its host as well", async () => {
  const standby = new KernelStandby({ cwd: project.root });
  standby.fill();
  after(() => standby.close());
  const seen = await priorityInBlock(standby);
  assert.equal(seen.nice, Math.min(19, hostNice + 5));
  if (autogroup) assert.match(seen.group, new RegExp(` nice ${Math.min(19, hostNice + 5)}$`));
});

test('GRIMOIRE_KERNEL_NICE=0 keeps kernels at the host priority', async () => {
  process.env.GRIMOIRE_KERNEL_NICE = '0';
  try {
    const seen = await priorityInBlock();
    assert.equal(seen.nice, hostNice);
    if (autogroup) assert.match(seen.group, / nice 0$/);
  } finally {
    delete process.env.GRIMOIRE_KERNEL_NICE;
  }
});
