/** Backfill intervals, pure: a date range cut into one interval per run (Mage's backfill). */
export type IntervalUnit = 'minute' | 'hour' | 'day' | 'week' | 'month';

export class BackfillError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackfillError';
  }
}

function step(from: Date, unit: IntervalUnit, value: number): Date {
  const d = new Date(from.getTime());
  switch (unit) {
    case 'minute':
      return new Date(d.getTime() + value * 60_000);
    case 'hour':
      return new Date(d.getTime() + value * 3_600_000);
    case 'day':
      d.setUTCDate(d.getUTCDate() + value);
      return d;
    case 'week':
      d.setUTCDate(d.getUTCDate() + 7 * value);
      return d;
    case 'month':
      // Months are counted from the range start (see backfillIntervals), never stepped one by one.
      throw new BackfillError('months are computed from the range start');
  }
}

/** Intervals [start, end) covering [rangeStart, rangeEnd): every interval starts before rangeEnd. */
export function backfillIntervals(rangeStart: Date, rangeEnd: Date, unit: IntervalUnit, value: number, max = 5000): { start: Date; end: Date }[] {
  if (!(rangeStart.getTime() < rangeEnd.getTime())) throw new BackfillError('the end of the range must be after its start');
  if (!Number.isInteger(value) || value <= 0) throw new BackfillError('the interval must be a positive whole number');
  // Month i counted from the start each time, so Jan 31 -> Feb 29 -> Mar 31 (never drifting to the 29th).
  const monthAt = (i: number): Date => {
    const y = rangeStart.getUTCFullYear();
    const m = rangeStart.getUTCMonth() + i * value;
    const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    return new Date(Date.UTC(y, m, Math.min(rangeStart.getUTCDate(), last), rangeStart.getUTCHours(), rangeStart.getUTCMinutes(), rangeStart.getUTCSeconds()));
  };
  const out: { start: Date; end: Date }[] = [];
  let start = rangeStart;
  for (let i = 1; start.getTime() < rangeEnd.getTime(); i++) {
    if (out.length >= max) throw new BackfillError(`the range holds more than ${max} intervals; use a larger interval or a shorter range`);
    const end = unit === 'month' ? monthAt(i) : step(start, unit, value);
    out.push({ start, end });
    start = end;
  }
  return out;
}
