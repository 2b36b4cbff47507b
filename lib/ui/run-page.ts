/**
 * What the run page says of a block run beside its status, as text: a waiting sensor's last poke,
 * a fanned-out block's children, why a block was skipped, the callbacks that threw; and the
 * children list's page label. Pure, so the page and its tests share it.
 */
import { formatCount } from '../intl-format';
import { BLOCK_RUN_STATUSES, type BlockRunStatus } from '../run/states';
import { sensorWaitText } from './run-log-lines';

/** A dynamic block's child is named `<uuid>:<key>...`; the block it runs is the part before the first `:`. */
export function blockOfRun(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(0, i);
}

export function isChildRun(name: string): boolean {
  return name.includes(':');
}

/** The parts of a block run view (lib/runs/block-run-views.ts, as JSON) these notes read. */
export interface NotedBlockRun {
  status: BlockRunStatus;
  message: string | null;
  children: { total: number; statuses: Partial<Record<BlockRunStatus, number>> } | null;
  last_poke: { poke: number; satisfied: boolean; next_in_s: number | null; at: string } | null;
  callback_failures: readonly { callback: string; hook: string; message: string }[];
  /** It completed by reusing its cached output (configuration.cache). */
  cached?: boolean;
}

/** "3 children: 2 completed, 1 failed" (Mage's status order). */
export function childrenText(children: NonNullable<NotedBlockRun['children']>): string {
  const parts = BLOCK_RUN_STATUSES.flatMap((s) => {
    const n = children.statuses[s];
    return n ? [`${formatCount(n)} ${s}`] : [];
  });
  return `${formatCount(children.total)} ${children.total === 1 ? 'child' : 'children'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

/**
 * The line shown under a block run's status, or null: a running sensor's "waiting (poke 3, next
 * in 42s)" as of `now`; why a block was skipped (condition_failed is a skip, not a failure); a
 * fanned-out block's children; a block that reused its cached output.
 */
export function blockRunNote(b: NotedBlockRun, now: Date): string | null {
  if (b.status === 'running' && b.last_poke && !b.last_poke.satisfied) {
    return sensorWaitText({ poke: b.last_poke.poke, satisfied: false, nextInS: b.last_poke.next_in_s }, new Date(b.last_poke.at), now);
  }
  if (b.status === 'condition_failed') return `skipped: ${b.message ?? 'a conditional returned false'}`;
  if (b.children && b.children.total > 0) return childrenText(b.children);
  if (b.cached) return b.message?.startsWith('cached') ? b.message : 'cached: reused its last output';
  return null;
}

/** "callback notify.onFailure failed: ..." for each callback of the block run that threw. */
export function callbackFailureTexts(b: Pick<NotedBlockRun, 'callback_failures'>): string[] {
  return b.callback_failures.map((f) => `callback ${f.callback}.${f.hook} failed: ${f.message}`);
}

/** "51–100 of 1,000" for a page of a list; "none" when it is empty. */
export function pageLabel(offset: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return 'none';
  return `${formatCount(offset + 1)}–${formatCount(offset + shown)} of ${formatCount(total)}`;
}

/** The statuses a fanned-out block's children have, for the page's filter ("failed (3)"), in Mage's order. */
export function childStatusOptions(children: NonNullable<NotedBlockRun['children']>): { status: BlockRunStatus; label: string }[] {
  return BLOCK_RUN_STATUSES.flatMap((s) => {
    const n = children.statuses[s];
    return n ? [{ status: s, label: `${s} (${formatCount(n)})` }] : [];
  });
}
