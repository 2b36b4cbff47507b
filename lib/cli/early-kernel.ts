/**
 * The kernel of a `grimoire run`, started by bin/grimoire.js before the CLI's own bundle is read
 * and compiled (~0.08 s): the kernel's start (~0.33 s, Node and DuckDB's binding) overlaps it.
 * Built as a small bundle of its own (fresh-bundle.js `cli-early`); the CLI takes the kernel from
 * the process slot `early-kernel` (lib/process-slot.ts), or starts one itself when there is none.
 */
import { KernelStandby } from '../kernel/standby';
import { processSlot } from '../process-slot';

const slot = processSlot<KernelStandby>('early-kernel');

/**
 * For `run` (argv after `node grimoire`), starts the kernel the run will adopt. It waits in this
 * folder until adopted: the project is only known once the CLI has read its arguments, and the
 * kernel moves there when it is told which pipeline it serves. Anything else starts nothing.
 */
export function startEarlyKernel(argv: readonly string[]): void {
  if (argv[0] !== 'run') return;
  const standby = new KernelStandby({ cwd: process.cwd(), once: true });
  standby.fill();
  slot.set(standby);
}

/** The kernel started early, if any; taken once. */
export function takeEarlyKernel(): KernelStandby | undefined {
  const standby = slot.get();
  slot.set(undefined);
  return standby;
}
