/**
 * Block runs as the run page and GET /api/runs/<id> show them: each stored block run with the
 * engine's word on its last move (the conditional that skipped it, a fanned-out block's children
 * count), its children counted by status when it fanned out, a sensor's last poke and the
 * callbacks that threw, the last two read back from its log (lib/ui/run-log-lines.ts). Pure.
 */
import { type BlockRunStatus } from '../run/states';
import { type ChildCounts } from '../store/run-page-reads';
import { type BlockRunRow, type LogRow, type RunEventRow } from '../store/types';
import { parseCallbackFailure, parsePokeLine, type CallbackHookName } from '../ui/run-log-lines';
import { blockOfRun, isChildRun } from '../ui/run-page';

export { blockOfRun };

export interface ChildSummary {
  total: number;
  statuses: Partial<Record<BlockRunStatus, number>>;
}

export interface LastPoke {
  poke: number;
  satisfied: boolean;
  /** Seconds to the next poke as said at `at`; null once satisfied. */
  next_in_s: number | null;
  at: Date;
}

export interface CallbackFailure {
  callback: string;
  hook: CallbackHookName;
  message: string;
  at: Date;
}

export type BlockRunView = BlockRunRow & {
  /** What the engine said of its last move, if anything ("conditional never returned false", "3 of 3 children completed"). */
  message: string | null;
  /** A block that fanned out (downstream of a dynamic block): its children by status; null otherwise. */
  children: ChildSummary | null;
  /** A sensor's last poke, from its log; null for other blocks and before the first poke. */
  last_poke: LastPoke | null;
  /** Callbacks attached to it that threw, oldest first. */
  callback_failures: CallbackFailure[];
};

/** The log pattern (Postgres regex) of a sensor's poke lines, for RunPageReads.lastLines. */
export const POKE_LINE_PATTERN = '^poke [0-9]+: ';
/** How a callback's failure line starts (stream `system`, lib/store/record-run.ts). */
export const CALLBACK_LINE_PREFIX = 'callback ';

/** Children counted by status per block, from every block run of a run (GET /api/runs/<id> whole). */
export function countChildren(blocks: readonly BlockRunRow[]): ChildCounts[] {
  const counts = new Map<string, ChildCounts>();
  for (const b of blocks) {
    if (!isChildRun(b.block_uuid)) continue;
    const block = blockOfRun(b.block_uuid);
    const key = `${block}\u0000${b.status}`;
    const c = counts.get(key) ?? { block, status: b.status, count: 0 };
    c.count += 1;
    counts.set(key, c);
  }
  return [...counts.values()];
}

function summaries(counts: readonly ChildCounts[]): Map<string, ChildSummary> {
  const out = new Map<string, ChildSummary>();
  for (const c of counts) {
    const s = out.get(c.block) ?? { total: 0, statuses: {} };
    s.total += c.count;
    s.statuses[c.status] = (s.statuses[c.status] ?? 0) + c.count;
    out.set(c.block, s);
  }
  return out;
}

export interface ViewSources {
  /** Transitions of these block runs (others are ignored), in order. */
  events: readonly RunEventRow[];
  children: readonly ChildCounts[];
  /** The last poke line of each sensor block run. */
  pokes: readonly LogRow[];
  /** Lines starting with CALLBACK_LINE_PREFIX on the system stream. */
  callbackLines: readonly LogRow[];
}

/** The views of `blocks`, in their order. */
export function blockRunViews(blocks: readonly BlockRunRow[], from: ViewSources): BlockRunView[] {
  const lastMessage = new Map<string, string | null>();
  for (const e of from.events) if (e.block_uuid !== null) lastMessage.set(e.block_uuid, e.message);
  const children = summaries(from.children);
  const pokes = new Map<string, LastPoke>();
  for (const l of from.pokes) {
    const p = parsePokeLine(l.text);
    if (p) pokes.set(l.block_uuid, { poke: p.poke, satisfied: p.satisfied, next_in_s: p.nextInS, at: l.at });
  }
  const failures = new Map<string, CallbackFailure[]>();
  for (const l of from.callbackLines) {
    const f = parseCallbackFailure(l.text);
    if (f) failures.set(l.block_uuid, [...(failures.get(l.block_uuid) ?? []), { ...f, at: l.at }]);
  }
  return blocks.map((b) => ({
    ...b,
    message: lastMessage.get(b.block_uuid) ?? null,
    children: isChildRun(b.block_uuid) ? null : (children.get(b.block_uuid) ?? null),
    last_poke: pokes.get(b.block_uuid) ?? null,
    callback_failures: failures.get(b.block_uuid) ?? [],
  }));
}
