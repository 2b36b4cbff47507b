import { type JsonValue } from '../pipeline/model';

function asJson(text: string): { ok: true; value: JsonValue } | { ok: false } {
  try {
    const value: unknown = JSON.parse(text);
    return isJson(value) ? { ok: true, value } : { ok: false };
  } catch {
    return { ok: false };
  }
}

function isJson(v: unknown): v is JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return true;
  if (Array.isArray(v)) return v.every(isJson);
  return typeof v === 'object' && Object.values(v).every(isJson);
}

/**
 * What a variable's value box holds: text that reads as JSON (12, true, ["2020-10"], "12") is
 * that value; anything else is the text itself, so `http://x` needs no quotes.
 */
export function parseVariableText(text: string): JsonValue {
  const trimmed = text.trim();
  const json = asJson(trimmed);
  return json.ok ? json.value : text;
}

/** The inverse: a string that would read back as something else is shown quoted. */
export function formatVariable(value: JsonValue): string {
  if (typeof value === 'string') return asJson(value.trim()).ok || value.trim() !== value ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}
