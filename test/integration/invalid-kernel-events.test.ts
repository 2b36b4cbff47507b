/**
 * A kernel event the host cannot read is logged (where and what was wrong, never the values),
 * once per problem, and the host goes on: the block's own answer still arrives.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { dataDirOf } from '../../lib/project/paths';
import { writeProject } from '../support/write-project';

let project: Awaited<ReturnType<typeof writeProject>>;
let kernel: KernelHost;

before(async () => {
  project = await writeProject('noisy', {
    // User code shares the kernel process, so it can send the host anything: here, two events
    // outside the kernel protocol (one of them twice), each carrying a value that must stay unlogged.
    'data_loaders/noisy.ts': `export default function noisy(ctx: BlockContext) {
  const wrong = { type: 'block_done', runId: 'r', block: 'noisy', outcome: { status: 'exploded', token: 'tok-kernel-secret' } };
  process.send?.(wrong);
  process.send?.(wrong);
  process.send?.({ type: 'gossip', token: 'tok-kernel-secret' });
  return [{ ok: 1 }];
}
`,
  });
  kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', cacheDir: null });
});

after(async () => {
  await kernel?.close();
  await project?.cleanup();
});

test('invalid kernel events are warned about once each, without their values, and the block still completes', async (t) => {
  const warnings: string[] = [];
  t.mock.method(console, 'warn', (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  });
  const outcome = await kernel.execute({
    runId: 'r',
    block: { uuid: 'noisy', type: 'data_loader', language: 'typescript', file: 'data_loaders/noisy.ts', upstream: [], configuration: {} },
    variables: {},
    executionDate: new Date().toISOString(),
  });
  assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
  const about = warnings.filter((w) => w.includes('kernel event dropped as invalid'));
  assert.equal(about.length, 2, `expected one warning per problem, got:\n${warnings.join('\n')}`);
  assert.match(about[0] ?? '', /^kernel host \(pid \d+\): kernel event dropped as invalid: outcome\.status: /);
  assert.match(about[1] ?? '', /type: /);
  for (const w of warnings) assert.doesNotMatch(w, /tok-kernel-secret/);
});
