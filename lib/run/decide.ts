import { type DagNode } from '../pipeline/dag';
import { type BlockRunStatus } from './states';

export interface RunProgress {
  /** The planned block runs with their upstreams (only edges inside the plan matter here). */
  nodes: readonly DagNode[];
  statuses: ReadonlyMap<string, BlockRunStatus>;
  /** Block runs that never start themselves (a fanned-out block's own run, see fan-out.ts). */
  groups?: ReadonlySet<string>;
}

/**
 * The pure "decide" step of a run: which blocks may start now, which must be marked
 * upstream_failed because something they depend on failed, was cancelled or never can run, and
 * which are skipped (condition_failed) because an upstream was. The caller applies the result and
 * asks again after every block finishes.
 */
export function decideNext(progress: RunProgress): { start: string[]; upstreamFailed: string[]; conditionFailed: string[] } {
  const status = (u: string) => progress.statuses.get(u);
  const inPlan = (u: string) => progress.statuses.has(u);
  const start: string[] = [];
  const upstreamFailed: string[] = [];
  const conditionFailed: string[] = [];
  const blocked = new Set<string>();
  const skipped = new Set<string>();
  // Nodes come in dependency order, so a block marked here blocks its own downstream in the same pass.
  for (const n of progress.nodes) {
    const s = status(n.uuid);
    if (s !== 'initial' && s !== 'queued') continue;
    if (progress.groups?.has(n.uuid)) continue;
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
    if (ups.some((u) => status(u) === 'condition_failed' || skipped.has(u))) {
      conditionFailed.push(n.uuid);
      skipped.add(n.uuid);
      continue;
    }
    if (ups.every((u) => status(u) === 'completed')) start.push(n.uuid);
  }
  return { start, upstreamFailed, conditionFailed };
}
