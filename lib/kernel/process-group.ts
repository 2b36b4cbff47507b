/**
 * A kernel leads a process group of its own (its host forks it with `detached: true`), so the
 * processes its blocks start (`sleep`, a shell, a CLI tool) belong to that group and can be ended
 * with it: on interrupt, restart and timeout by the host, and by the kernel itself when it exits.
 */
import { type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';

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

/**
 * The watchdog's code (a worker thread, so it runs while a block keeps the kernel's own thread
 * busy): once the parent is gone (the kernel was re-parented), it gives the kernel `graceMs` to
 * leave on its own (the IPC disconnect path), then kills the kernel's group.
 */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
let orphanedAt = 0;
setInterval(() => {
  if (process.ppid === workerData.parent) return;
  orphanedAt ||= Date.now();
  if (Date.now() - orphanedAt < workerData.graceMs) return;
  try { process.kill(-process.pid, 'SIGKILL'); } catch { process.kill(process.pid, 'SIGKILL'); }
}, 500);
`;

/**
 * In the kernel: ends it (and its group) when the process that started it dies while a block keeps
 * the kernel's thread busy (an endless loop never sees the IPC channel close). `graceMs` (default
 * 5 s) after the parent is gone. The worker thread does not keep the kernel alive.
 */
export function watchParent(graceMs = 5000): void {
  if (process.platform === 'win32' || process.ppid === 1) return;
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { parent: process.ppid, graceMs } });
  worker.unref();
}
