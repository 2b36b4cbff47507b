import { fork, type ChildProcess } from 'node:child_process';
import { childEntry } from './child-entry';

/**
 * Starts a kernel process (lib/kernel/child.ts) with `env` in `cwd`: bundled, its stderr piped
 * for the host to read, and in a process group of its own, so a kill reaches what its blocks
 * started (process-group.ts). It still ends with its host: it exits when the IPC channel closes.
 */
export function forkKernel(env: NodeJS.ProcessEnv, cwd: string): ChildProcess {
  const entry = childEntry();
  return fork(entry.file, entry.args, {
    cwd,
    execArgv: entry.execArgv,
    env,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    detached: true,
  });
}
