import { type DagNode } from '../pipeline/dag';
import { type BlockRunStatus, isFinished } from './states';

export interface RunProgress {
  /** The planned blocks with their upstreams (only edges inside the plan matter here). */
  nodes: readonly DagNode[];
  statuses: ReadonlyMap<string, BlockRunStatus>;
}

/**
 * The pure "decide" step of a run: which blocks may start now, and which must be marked
 * upstream_failed because something they depend on failed, was cancelled or never can run.
 * The caller applies the result and asks again after every block finishes.
 */
export function decideNext(progress: RunProgress): { start: string[]; upstreamFailed: string[] } {
  const status = (u: string) => progress.statuses.get(u);
  const inPlan = (u: string) => progress.statuses.has(u);
  const start: string[] = [];
  const upstreamFailed: string[] = [];
  const blocked = new Set<string>();
  // Nodes come in dependency order, so a block marked here blocks its own downstream in the same pass.
  for (const n of progress.nodes) {
    const s = status(n.uuid);
    if (s !== 'initial' && s !== 'queued') continue;
    const ups = n.upstream.filter(inPlan);
    const bad = ups.some((u) => {
      const us = status(u);
      return us === 'failed' || us === 'cancelled' || us === 'upstream_failed' || blocked.has(u);
    });
    if (bad) {
      upstreamFailed.push(n.uuid);
      blocked.add(n.uuid);
      continue;
    }
    if (ups.every((u) => status(u) === 'completed')) start.push(n.uuid);
  }
  return { start, upstreamFailed };
}

/**
 * Completed blocks whose output no block of this run will read again: every block downstream of
 * them in the plan has finished, one way or another. Blocks without downstream are not listed.
 */
export function unneededOutputs(progress: RunProgress): string[] {
  const downstream = new Map<string, string[]>();
  for (const n of progress.nodes) {
    for (const u of n.upstream) downstream.set(u, [...(downstream.get(u) ?? []), n.uuid]);
  }
  return progress.nodes
    .map((n) => n.uuid)
    .filter((u) => {
      const readers = downstream.get(u);
      if (progress.statuses.get(u) !== 'completed' || !readers) return false;
      return readers.every((d) => {
        const s = progress.statuses.get(d);
        return s !== undefined && isFinished(s);
      });
    });
}
