/**
 * Intl formatters cost ~0.5 ms each to make and microseconds to use: made once per settings.
 * Only valid settings are kept (an unknown time zone throws RangeError, as `new` does), so the
 * cache is bounded by the zones the runtime knows.
 */
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** An en-US DateTimeFormat with `options`; throws RangeError for an unknown `timeZone`. */
export function dateTimeFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify(options);
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', options);
    dateTimeFormats.set(key, format);
  }
  return format;
}

const counts = new Intl.NumberFormat('en-US');

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return counts.format(n);
}
