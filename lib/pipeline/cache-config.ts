/**
 * A block's `configuration.cache` (Prefect's task caching): `cache: { expiration: 1d }` reuses the
 * block's last output while its code, its upstream outputs and its variables are unchanged and
 * the output is younger than the expiration. `cache: true` (or no expiration) never expires. Pure.
 */
import { type JsonObject } from './model';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90` (seconds), `"45s"`, `"30m"`, `"12h"`, `"1d"`, `"2w"` as milliseconds; null when it is none of these. */
export function parseExpiration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value * 1000 : null;
  if (typeof value !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/.exec(value);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  const ms = Number(m[1]) * (UNIT_MS[m[2]] ?? 0);
  return ms > 0 ? ms : null;
}

export type CacheConfig = { expirationMs: number | null };

/** The block's cache settings: null when it is not cached; an error naming the field when they are malformed. */
export function readCacheConfig(configuration: JsonObject): { ok: true; value: CacheConfig | null } | { ok: false; message: string } {
  const raw = configuration.cache;
  if (raw === undefined || raw === null || raw === false) return { ok: true, value: null };
  if (raw === true) return { ok: true, value: { expirationMs: null } };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, message: 'configuration.cache must be true or a mapping such as { expiration: 1d }' };
  const unknown = Object.keys(raw).filter((k) => k !== 'expiration');
  if (unknown.length > 0) return { ok: false, message: `configuration.cache has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (only expiration)` };
  const expiration = raw.expiration;
  if (expiration === undefined || expiration === null) return { ok: true, value: { expirationMs: null } };
  const ms = parseExpiration(expiration);
  if (ms === null) return { ok: false, message: `configuration.cache.expiration must be a duration such as 30m, 12h, 1d or 2w (or seconds), got ${JSON.stringify(expiration)}` };
  return { ok: true, value: { expirationMs: ms } };
}
