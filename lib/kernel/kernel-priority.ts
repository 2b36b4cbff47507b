import { readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** How much lower than its host a kernel runs by default (added to the host's nice value; the sum is capped at 19). */
export const DEFAULT_KERNEL_NICE = 5;

/**
 * The nice value kernels get: `GRIMOIRE_KERNEL_NICE` (a whole number 0 to 19; 0 keeps them at the
 * host's priority), else DEFAULT_KERNEL_NICE. Throws naming the variable when it holds anything else.
 */
export function kernelNice(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.GRIMOIRE_KERNEL_NICE;
  if (raw === undefined || raw.trim() === '') return DEFAULT_KERNEL_NICE;
  const nice = Number(raw.trim());
  if (!/^\d{1,2}$/.test(raw.trim()) || nice > 19) throw new Error(`GRIMOIRE_KERNEL_NICE must be a whole number from 0 to 19, not "${raw}"`);
  return nice;
}

/**
 * Lowers the CPU priority of a kernel just forked (pid `pid`) by `nice`, so that on a busy machine
 * the work around runs (claiming them, recording them, the scheduler, the editor's server) is
 * served before the blocks' own computing: a 5M-row export must not slow the dispatch of the
 * next run. A kernel alone on an idle machine runs as fast as before (nice only orders who waits).
 *
 * A kernel leads a session of its own (forked detached), which on Linux with autogroup scheduling
 * is a scheduling group of its own: per-thread nice values only order threads inside a group, so
 * the group's nice is set (/proc/<pid>/autogroup), and each thread's too for systems without
 * autogroup (threads it starts later inherit it). Best effort: a platform or a sandbox that
 * refuses either leaves the kernel at normal priority, which is only slower to dispatch under load.
 */
export function lowerKernelPriority(pid: number, nice: number): void {
  if (nice === 0 || process.platform === 'win32') return;
  // Relative to the host: a host already running low keeps its kernels lower still.
  const target = Math.min(19, os.getPriority() + nice);
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(target));
  } catch {
    // No autogroup scheduling here (or not allowed): the threads' own nice values below still order them.
  }
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    threads = [String(pid)];
  }
  for (const tid of threads) {
    try {
      os.setPriority(Number(tid), target);
    } catch {
      // A thread that ended meanwhile, or a platform that refuses: the kernel runs at normal priority.
    }
  }
}
