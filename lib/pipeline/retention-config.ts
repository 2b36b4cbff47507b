/**
 * Retention settings of a project, from its metadata.yaml (Mage's keys): how long finished runs'
 * outputs (`variables_retention_period`), log lines (`logs_retention_period`) and the runs
 * themselves (`runs_retention_period`) are kept. A key that is absent (or null) keeps that kind
 * forever, Mage's default. Pure: the caller reads and parses the YAML.
 */

export const RETENTION_KEYS = ['variables_retention_period', 'logs_retention_period', 'runs_retention_period'] as const;
export type RetentionKey = (typeof RETENTION_KEYS)[number];

/** One setting in force: the text as written ('90d') and its length in milliseconds. */
export interface RetentionPeriod {
  text: string;
  ms: number;
}

/** Each key's period, or null when the project keeps that kind forever. */
export type RetentionSettings = Record<RetentionKey, RetentionPeriod | null>;

/** Every kind kept forever: a project without any retention key. */
export const KEEP_FOREVER: RetentionSettings = { variables_retention_period: null, logs_retention_period: null, runs_retention_period: null };

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const UNIT_NAMES = { m: 'minutes', h: 'hours', d: 'days', w: 'weeks' } as const;
/**
 * The longest period taken: 100 years. Beyond it a date before the epoch would be computed; a
 * project that wants to keep everything leaves the key out.
 */
const LONGEST_MS = 36_500 * UNIT_MS.d;

/**
 * A whole number and a unit: m (minutes), h (hours), d (days), w (weeks), e.g. '90d', '12h',
 * '2w', '30m'. Mage takes d, h and w (`str_to_timedelta`: a number, then the unit as the last
 * character); m is ours, for short periods. Spaces around the number and unit are allowed, as
 * Mage's int() allows them. 0 is allowed too (every finished one goes at the next sweep).
 */
const PERIOD_PATTERN = /^\s*(\d{1,12})\s*([mhdw])\s*$/;

export class RetentionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionConfigError';
  }
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'a list' : 'a mapping';
}

/**
 * The period of one key's value; null for an absent or null value (keep forever).
 * Throws RetentionConfigError naming the key and the value when it is not a period.
 */
export function parseRetentionPeriod(key: RetentionKey, value: unknown): RetentionPeriod | null {
  if (value === undefined || value === null) return null;
  const hint = `write a whole number and a unit: m (minutes), h (hours), d (days) or w (weeks), e.g. '90d'; leave ${key} out to keep forever`;
  if (typeof value !== 'string') throw new RetentionConfigError(`metadata.yaml: ${key} is ${shown(value)}: ${hint}`);
  const match = PERIOD_PATTERN.exec(value);
  if (!match) throw new RetentionConfigError(`metadata.yaml: ${key} is ${shown(value)}, which is not a period: ${hint}`);
  const count = Number(match[1]);
  const unit = match[2];
  if (unit !== 'm' && unit !== 'h' && unit !== 'd' && unit !== 'w') throw new RetentionConfigError(`metadata.yaml: ${key} is ${shown(value)}: ${hint}`);
  const ms = count * UNIT_MS[unit];
  if (ms > LONGEST_MS) throw new RetentionConfigError(`metadata.yaml: ${key} is ${shown(value)} (${count} ${UNIT_NAMES[unit]}), longer than 100 years: leave ${key} out to keep forever`);
  return { text: value.trim(), ms };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The retention settings of a project's metadata.yaml data (as parsed YAML). Any wrong value makes
 * the whole result an error listing every wrong key: a project with a typo is not swept at all,
 * rather than swept by half of what its owner meant.
 */
export function parseRetentionSettings(projectData: unknown): { ok: true; value: RetentionSettings } | { ok: false; errors: string[] } {
  if (projectData !== null && projectData !== undefined && !isRecord(projectData)) return { ok: false, errors: ['metadata.yaml is not a mapping of settings'] };
  const data = isRecord(projectData) ? projectData : {};
  const value: RetentionSettings = { ...KEEP_FOREVER };
  const errors: string[] = [];
  for (const key of RETENTION_KEYS) {
    try {
      value[key] = parseRetentionPeriod(key, data[key]);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
