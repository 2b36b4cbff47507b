import { fork, type ChildProcess } from 'node:child_process';
import { childEntry } from './child-entry';
import { kernelNice, lowerKernelPriority } from './kernel-priority';

/**
 * Starts a kernel process (lib/kernel/child.ts) with `env` in `cwd`: bundled, its stderr piped
 * for the host to read, and in a process group of its own, so a kill reaches what its blocks
 * started (process-group.ts), and below its host's CPU priority (kernel-priority.ts,
 * `GRIMOIRE_KERNEL_NICE`). It still ends with its host: it exits when the IPC channel closes.
 */
export function forkKernel(env: NodeJS.ProcessEnv, cwd: string): ChildProcess {
  const entry = childEntry();
  const nice = kernelNice();
  const child = fork(entry.file, entry.args, {
    cwd,
    execArgv: entry.execArgv,
    env,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    detached: true,
  });
  if (child.pid !== undefined) lowerKernelPriority(child.pid, nice);
  return child;
}
