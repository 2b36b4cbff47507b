/**
 * The graph's view of the latest run and of add-ons, as plain data: a fanned-out block's children
 * summed up, and the conditionals and callbacks attached to a block.
 */
import { type AddOnKind } from '../pipeline/model';
import { statusLabel } from './block-labels';

/**
 * A stacked node's line: how many children the block ran as, and how many of them are in each status,
 * the most common first (`×3 · 3 completed`, `×4 · 2 completed, 1 running, 1 failed`).
 */
export function fanSummary(children: readonly string[], statusOf: (child: string) => string): string {
  const counts = new Map<string, number>();
  for (const c of children) {
    const s = statusOf(c);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${n} ${statusLabel(s)}`);
  return `×${children.length}${parts.length > 0 ? ` · ${parts.join(', ')}` : ''}`;
}

export interface AttachedAddOn {
  kind: AddOnKind;
  uuid: string;
}

/** The add-ons attached to a block: its conditionals first (they run before it), then its callbacks. */
export function attachedAddOns(block: string, addOns: { conditionals: readonly { uuid: string; upstream: readonly string[] }[]; callbacks: readonly { uuid: string; upstream: readonly string[] }[] }): AttachedAddOn[] {
  return [
    ...addOns.conditionals.filter((a) => a.upstream.includes(block)).map((a) => ({ kind: 'conditional' as const, uuid: a.uuid })),
    ...addOns.callbacks.filter((a) => a.upstream.includes(block)).map((a) => ({ kind: 'callback' as const, uuid: a.uuid })),
  ];
}
