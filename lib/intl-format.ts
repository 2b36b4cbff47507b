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

let counts: Intl.NumberFormat | undefined;

/**
 * 1234567 -> "1,234,567", as en-US's Intl.NumberFormat writes it. Whole numbers are grouped here:
 * a process's first Intl formatter loads ICU's locale data (~11 ms of `grimoire run`'s start, which
 * prints row counts); other numbers go through Intl, made on first use.
 */
export function formatCount(n: number): string {
  if (Number.isSafeInteger(n)) {
    const digits = String(Math.abs(n));
    const grouped = digits.replace(/\B(?=(\d{3})+$)/g, ',');
    // Intl writes -0 as "-0".
    return n < 0 || Object.is(n, -0) ? `-${grouped}` : grouped;
  }
  counts ??= new Intl.NumberFormat('en-US');
  return counts.format(n);
}
