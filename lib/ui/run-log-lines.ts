/**
 * Lines the run engine writes into a block run's log for a sensor's pokes ("poke 2: not yet; next
 * in 60 s", "poke 3: satisfied") and for a callback that threw ("callback notify.onFailure failed:
 * ..."), see lib/engine/run-engine.ts and lib/store/record-run.ts. A stored run keeps only its
 * logs, so the run page and `grimoire run` read these back from the text. Pure.
 */
import { CALLBACK_HOOK_NAMES } from '../protocol/run-events';

export interface PokeLine {
  poke: number;
  satisfied: boolean;
  /** Seconds until the next poke, as said when the line was written; null once satisfied. */
  nextInS: number | null;
}

const POKE = /^poke (\d+): (?:(satisfied)|not yet; next in (\d+) s)$/;

/** The poke a sensor's log line tells of; null for any other line. */
export function parsePokeLine(text: string): PokeLine | null {
  const m = POKE.exec(text.trimEnd());
  if (!m) return null;
  return { poke: Number(m[1]), satisfied: m[2] !== undefined, nextInS: m[3] === undefined ? null : Number(m[3]) };
}

/**
 * A waiting sensor as its block run shows it, from its last poke line written at `at`: Mage's
 * "waiting", with the pokes so far and the seconds left until the next (as the editor's progress).
 */
export function sensorWaitText(line: PokeLine, at: Date, now: Date): string {
  if (line.satisfied) return `satisfied (poke ${line.poke})`;
  const left = Math.max(0, Math.round((line.nextInS ?? 0) - (now.getTime() - at.getTime()) / 1000));
  return `waiting (poke ${line.poke}, next in ${left}s)`;
}

export type CallbackHookName = (typeof CALLBACK_HOOK_NAMES)[number];

export interface CallbackFailureLine {
  callback: string;
  hook: CallbackHookName;
  message: string;
}

const CALLBACK = new RegExp(`^callback ([A-Za-z_][A-Za-z0-9_]*)\\.(${CALLBACK_HOOK_NAMES.join('|')}) failed: (.*)$`, 's');
const isHook = (s: string | undefined): s is CallbackHookName => CALLBACK_HOOK_NAMES.some((h) => h === s);

/** The callback failure a log line tells of; null for any other line. */
export function parseCallbackFailure(text: string): CallbackFailureLine | null {
  const m = CALLBACK.exec(text.trimEnd());
  const hook = m?.[2];
  if (!m?.[1] || !isHook(hook)) return null;
  return { callback: m[1], hook, message: m[3] ?? '' };
}
