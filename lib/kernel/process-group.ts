/**
 * A kernel leads a process group of its own (its host forks it with `detached: true`), so the
 * processes its blocks start (`sleep`, a shell, a CLI tool) belong to that group and can be ended
 * with it: on interrupt, restart and timeout by the host, and by the kernel itself when it exits.
 */
import { type ChildProcess } from 'node:child_process';

/**
 * Sends SIGKILL to the process group led by `child` (the kernel and whatever its blocks started).
 * Falls back to the child alone when there is no such group (a kernel not forked detached, or a
 * platform without groups); a child already gone is no error.
 */
export function killProcessGroup(child: ChildProcess): void {
  const pid = child.pid;
  if (pid !== undefined && process.platform !== 'win32') {
    try {
      process.kill(-pid, 'SIGKILL');
      return;
    } catch {
      // No group led by it: kill the child itself below.
    }
  }
  child.kill('SIGKILL');
}

/**
 * In the kernel, as its last act on exit: SIGKILL to its own process group, so no process a
 * block started outlives it (the kernel itself is ending anyway, and dies of the same signal).
 * Does nothing unless this process leads a group (process.kill(-pid) fails then).
 */
export function killOwnGroup(): void {
  if (process.platform === 'win32') return;
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // Not a group leader: there is no group of ours to end.
  }
}
