/**
 * A stand-in for a server that owns a kernel, for tests that SIGKILL the owner: it starts a kernel
 * for <projectDir> <pipeline>, runs the block <block> (a data loader in data_loaders/<block>.ts,
 * with the variable `wait: true` when the 4th argument is `wait`), prints each log line of the
 * block and then `kernel <pid>` to stdout, and waits to be killed.
 * Usage: node --import tsx test/support/kernel-owner.ts <projectDir> <pipeline> <block> [wait]
 */
import path from 'node:path';
import { KernelHost } from '../../lib/kernel/host';

async function main(): Promise<void> {
  const [projectDir, pipelineUuid, block, wait] = process.argv.slice(2);
  if (!projectDir || !pipelineUuid || !block) throw new Error('usage: kernel-owner.ts <projectDir> <pipeline> <block> [wait]');
  const kernel = new KernelHost({ projectDir, dataDir: path.join(projectDir, '.grimoire'), pipelineUuid });
  kernel.onLog((e) => process.stdout.write(e.text));
  void kernel.execute({
    runId: 'owner',
    block: { uuid: block, type: 'data_loader', language: 'typescript', file: `data_loaders/${block}.ts`, upstream: [], configuration: {} },
    variables: { wait: wait === 'wait' },
    executionDate: new Date().toISOString(),
  });
  while (kernel.pid === undefined) await new Promise((r) => setTimeout(r, 10));
  process.stdout.write(`kernel ${kernel.pid}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
