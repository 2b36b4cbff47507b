import { Cron } from 'croner';
import { dateTimeFormat } from '../intl-format';
import { type CatchUpPolicy, type CronCheck, SCHEDULE_PRESETS } from '../pipeline/triggers';

/**
 * Schedule math, pure: when a time trigger fires, and what to do about executions that were
 * missed. Cron fields are read in the trigger's time zone by croner (never hand-written parsing),
 * so DST is the library's: a wall time that does not exist (spring forward) fires at the first
 * instant after it, a wall time that happens twice (fall back) fires once, at its first occurrence.
 */

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/**
 * When to look again at a trigger that will never fire again (an @once that fired, a schedule
 * that cannot be compiled): the latest instant a Date holds, which Postgres stores as is. Only a
 * change of its definition (triggers.yaml, resume) brings it back; null would mean "due at once".
 */
export const NEVER = new Date(8_640_000_000_000_000);

export type Schedule = { kind: 'once'; at: Date } | { kind: 'cron'; cron: Cron; pattern: string; start: Date | null };

/** Wall-clock fields of an instant in a zone. */
function wallFields(at: Date, zone: string): { minute: number; hour: number; day: number; weekday: number } {
  const parts = dateTimeFormat({ timeZone: zone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', day: '2-digit', weekday: 'short' }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday'));
  return { minute: Number(get('minute')), hour: Number(get('hour')), day: Number(get('day')), weekday: Math.max(0, weekday) };
}

/**
 * A preset becomes a cron anchored at start_time's wall clock: `@daily` with start_time 05:00 fires
 * at 05:00 every day, `@weekly` on start_time's weekday, `@monthly` on its day of month (29-31 mean
 * the month's last day, so no month is skipped). Without start_time they fire at midnight (Mage).
 */
export function presetToCron(preset: string, start: Date | null, zone: string): string {
  const w = start ? wallFields(start, zone) : { minute: 0, hour: 0, day: 1, weekday: 0 };
  switch (preset) {
    case '@hourly':
      return `${w.minute} * * * *`;
    case '@daily':
      return `${w.minute} ${w.hour} * * *`;
    case '@weekly':
      return `${w.minute} ${w.hour} * * ${w.weekday}`;
    case '@monthly':
      return `${w.minute} ${w.hour} ${w.day > 28 ? 'L' : w.day} * *`;
    default:
      throw new ScheduleError(`unknown preset ${preset} (use ${SCHEDULE_PRESETS.join(', ')} or a cron string)`);
  }
}

export function compileSchedule(interval: string, start: Date | null, zone: string): Schedule {
  if (interval === '@once') {
    if (!start) throw new ScheduleError('@once needs a start_time');
    return { kind: 'once', at: start };
  }
  const pattern = interval.startsWith('@') ? presetToCron(interval, start, zone) : interval;
  const fields = pattern.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) throw new ScheduleError(`a cron string has 5 fields (minute hour day month weekday), or 6 with seconds first; "${pattern}" has ${fields}`);
  try {
    return { kind: 'cron', cron: new Cron(pattern, { timezone: zone, mode: '5-or-6-parts' }), pattern, start };
  } catch (e) {
    throw new ScheduleError(e instanceof Error ? e.message.replace(/^CronPattern: /, '') : String(e));
  }
}

/** For parseTriggers: the same checks the scheduler will make, as a message. */
export const checkCron: CronCheck = (interval, zone) => {
  if (interval === '@once') return null;
  try {
    compileSchedule(interval, null, zone);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
};

/** The first fire time strictly after `after` (and not before the start), or null when there is none. */
export function nextFireAfter(schedule: Schedule, after: Date): Date | null {
  if (schedule.kind === 'once') return schedule.at.getTime() > after.getTime() ? schedule.at : null;
  const from = schedule.start && schedule.start.getTime() > after.getTime() ? new Date(schedule.start.getTime() - 1) : after;
  // croner strips milliseconds and returns strictly later times; the loop makes "after" exact.
  let next = schedule.cron.nextRun(from);
  while (next && next.getTime() <= from.getTime()) next = schedule.cron.nextRun(next);
  return next;
}

/** Fire times in (after, until], at most `limit` of them, oldest first. */
export function fireTimesBetween(schedule: Schedule, after: Date, until: Date, limit: number): Date[] {
  const out: Date[] = [];
  let t = nextFireAfter(schedule, after);
  while (t && t.getTime() <= until.getTime() && out.length < limit) {
    out.push(t);
    t = nextFireAfter(schedule, t);
  }
  return out;
}

/** The latest fire time at or before `at`, or null. */
export function previousFireAtOrBefore(schedule: Schedule, at: Date): Date | null {
  if (schedule.kind === 'once') return schedule.at.getTime() <= at.getTime() ? schedule.at : null;
  // previousRuns is strictly before its (second-truncated) reference: ask from the next second.
  const prev = schedule.cron.previousRuns(2, new Date(Math.floor(at.getTime() / 1000) * 1000 + 1000)).find((d) => d.getTime() <= at.getTime());
  if (!prev || (schedule.start && prev.getTime() < schedule.start.getTime())) return null;
  return prev;
}

export interface FireInput {
  schedule: Schedule;
  policy: CatchUpPolicy;
  /** The latest execution date already decided (fired or skipped); null for a trigger never scheduled. */
  cursor: Date | null;
  /**
   * Where a never-scheduled trigger starts counting missed executions from: its start_time when it
   * has one (so `all` back-fills from there), else the moment it was first seen active.
   */
  since: Date;
  now: Date;
  /** Under `none`, an execution this late still counts as on time (the scheduler woke a little late). */
  graceMs?: number;
  /** Under `all`, how many executions one decision creates at most; the rest follow at once. */
  maxBatch?: number;
}

export interface FireDecision {
  /** Execution dates to create runs for now. */
  fire: Date[];
  /** Execution dates deliberately not run (catch-up policy), oldest first. */
  skipped: Date[];
  /** The new cursor: the latest execution date decided, fired or skipped. */
  cursor: Date | null;
  /** When to look at this trigger again (null: never, e.g. an @once that has fired). */
  next: Date | null;
}

/**
 * The catch-up decision, a pure function of (schedule, policy, last decided, now):
 * - `all`: every missed execution runs, oldest first, in batches;
 * - `latest`: only the most recent missed execution runs, older ones are skipped;
 * - `none`: missed executions are skipped; one that is due now (within the grace) still runs.
 */
export function decideFires(input: FireInput): FireDecision {
  const grace = input.graceMs ?? 60_000;
  const batch = input.maxBatch ?? 100;
  const lower = input.cursor ?? new Date(input.since.getTime() - 1);
  // Enough candidates to decide; under `latest`/`none` only the newest matters, but the count of
  // skipped ones is reported, so they are enumerated (bounded: a decade of minutes is not needed).
  const candidates = fireTimesBetween(input.schedule, lower, input.now, input.policy === 'all' ? batch + 1 : 10_000);
  let fire: Date[] = [];
  let skipped: Date[] = [];
  if (candidates.length === 0) {
    return { fire, skipped, cursor: input.cursor, next: nextFireAfter(input.schedule, input.now) };
  }
  if (input.policy === 'all') {
    fire = candidates.slice(0, batch);
    const more = candidates.length > batch;
    const cursor = fire[fire.length - 1] ?? input.cursor;
    return { fire, skipped, cursor, next: more ? input.now : nextFireAfter(input.schedule, input.now) };
  }
  // Candidates may have been truncated: the newest due execution is the previous fire time of now.
  const newest = previousFireAtOrBefore(input.schedule, input.now) ?? candidates[candidates.length - 1]!;
  const older = candidates.filter((c) => c.getTime() < newest.getTime());
  if (input.policy === 'latest' || input.now.getTime() - newest.getTime() <= grace) {
    fire = [newest];
    skipped = older;
  } else {
    skipped = [...older, newest];
  }
  return { fire, skipped, cursor: newest, next: nextFireAfter(input.schedule, input.now) };
}
