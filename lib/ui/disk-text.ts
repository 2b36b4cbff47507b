/**
 * The disk page's words: sizes in binary units, a retention setting, and what a sweep frees. Pure,
 * so the page and its tests share them.
 */
import { formatCount } from '../intl-format';
import { type Freed } from '../protocol/disk-api';

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 512 -> "512 B", 1536 -> "1.5 KiB", 5 * 2^30 -> "5.0 GiB": one decimal below 100 of a unit, none above. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit: (typeof UNITS)[number] = 'KiB';
  for (const u of UNITS) {
    value /= 1024;
    unit = u;
    if (value < 1024) break;
  }
  return `${value < 100 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

const plural = (n: number, one: string, many: string) => `${formatCount(n)} ${n === 1 ? one : many}`;

/**
 * "2 runs, 1 output folder, 3,000 log lines: 1.5 MiB", or "nothing" when nothing is (or would be) freed.
 */
export function freedText(freed: Freed): string {
  const parts: string[] = [];
  if (freed.runs.items > 0) parts.push(plural(freed.runs.items, 'run', 'runs'));
  if (freed.variables.items > 0) parts.push(plural(freed.variables.items, 'output folder', 'output folders'));
  if (freed.logs.items > 0) parts.push(plural(freed.logs.items, 'log line', 'log lines'));
  if (parts.length === 0) return 'nothing';
  return `${parts.join(', ')}: ${formatBytes(freed.runs.bytes + freed.variables.bytes + freed.logs.bytes)}`;
}

/** A setting as the page shows it: "90d" or "kept forever (not set)". */
export function settingText(period: { text: string } | null): string {
  return period ? period.text : 'kept forever (not set)';
}
