/**
 * Intl formatters cost ~0.5 ms each to make and microseconds to use: made once per settings.
 * Bounded: zone names come from users' triggers.yaml and Intl accepts any letter case of each, so
 * a cache that kept them all could be grown at will (~28 KB an entry); past the bound it starts over.
 */
const MAX_FORMATS = 200;
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** An en-US DateTimeFormat with `options`; throws RangeError for an unknown `timeZone`. */
export function dateTimeFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify(options);
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', options);
    if (dateTimeFormats.size >= MAX_FORMATS) dateTimeFormats.clear();
    dateTimeFormats.set(key, format);
  }
  return format;
}

const counts = new Intl.NumberFormat('en-US');

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return counts.format(n);
}
