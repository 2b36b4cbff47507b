/** Type mapping between DuckDB and PostgreSQL, so timestamps stay timestamps and integers stay integers. */
import { quoteIdentifier } from '../sql-quote';

export interface PgColumn {
  name: string;
  /** PostgreSQL type for CREATE TABLE. */
  pgType: string;
  /** SQL expression that turns the DuckDB column into text Postgres reads back as that type. */
  select: string;
}

/** Element types a DuckDB list may have to become a Postgres array (text Postgres reads unambiguously). */
const ARRAY_ELEMENTS = /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|FLOAT|DOUBLE|DECIMAL\(\d+,\s*\d+\)|VARCHAR|DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE|UUID)$/;

/** Maps one DuckDB column (name and type as DuckDB prints it) to its Postgres column. */
export function pgColumnFor(name: string, duckType: string): PgColumn {
  const q = quoteIdentifier(name);
  const t = duckType.toUpperCase();
  const simple: Record<string, string> = {
    BOOLEAN: 'boolean',
    TINYINT: 'smallint',
    SMALLINT: 'smallint',
    INTEGER: 'integer',
    BIGINT: 'bigint',
    HUGEINT: 'numeric(39,0)',
    UTINYINT: 'smallint',
    USMALLINT: 'integer',
    UINTEGER: 'bigint',
    UBIGINT: 'numeric(20,0)',
    UHUGEINT: 'numeric(39,0)',
    FLOAT: 'real',
    DOUBLE: 'double precision',
    VARCHAR: 'text',
    DATE: 'date',
    TIME: 'time',
    'TIME WITH TIME ZONE': 'timetz',
    TIMESTAMP: 'timestamp',
    TIMESTAMP_S: 'timestamp',
    TIMESTAMP_MS: 'timestamp',
    TIMESTAMP_NS: 'timestamp',
    'TIMESTAMP WITH TIME ZONE': 'timestamptz',
    INTERVAL: 'interval',
    UUID: 'uuid',
    JSON: 'jsonb',
  };
  const mapped = simple[t];
  if (mapped) {
    // timestamptz text in DuckDB depends on its TimeZone setting; UTC ISO text is unambiguous.
    // The infinities have no zone: Postgres refuses "infinity+00".
    if (mapped === 'timestamptz') return { name, pgType: mapped, select: `CASE WHEN isfinite(${q}) THEN strftime(${q} AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f') || '+00' ELSE CAST(${q} AS VARCHAR) END` };
    return { name, pgType: mapped, select: q };
  }
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) return { name, pgType: `numeric(${decimal[1]},${decimal[2]})`, select: q };
  if (t === 'BLOB') return { name, pgType: 'bytea', select: `'\\x' || hex(${q})` };
  if (t.startsWith('ENUM')) return { name, pgType: 'text', select: `${q}::VARCHAR` };
  // A list of scalars is a Postgres array of the element's type, written as an array literal
  // ({"a","b",NULL}): every element quoted and escaped, so commas and quotes in text survive.
  const list = /^(.+)\[\]$/.exec(t);
  const element = list?.[1];
  if (element && ARRAY_ELEMENTS.test(element)) {
    const pgElement = pgColumnFor('x', element).pgType;
    const item = `CASE WHEN x IS NULL THEN 'NULL' ELSE '"' || replace(replace(CAST(x AS VARCHAR), '\\', '\\\\'), '"', '\\"') || '"' END`;
    return { name, pgType: `${pgElement}[]`, select: `'{' || array_to_string(list_transform(${q}, x -> ${item}), ',') || '}'` };
  }
  // Other lists, structs, maps and unions travel as JSON.
  return { name, pgType: 'jsonb', select: `to_json(${q})::VARCHAR` };
}

/** numeric(p,s) that a DuckDB DECIMAL holds: precision 1..38, scale 0..precision. */
function fitsDecimal(pgNumeric: string): boolean {
  const m = /^numeric\((\d+),(-?\d+)\)$/.exec(pgNumeric.replace(/\s+/g, ''));
  return m !== null && Number(m[1]) <= 38 && Number(m[2]) >= 0 && Number(m[2]) <= Number(m[1]);
}

/**
 * A Postgres numeric whose DECIMAL is decided from its values (unconstrained, or wider than DuckDB
 * holds): it travels as text, then postgres-load.ts picks an exact DECIMAL or keeps the text.
 */
export function numericDecidedByValues(pgType: string): boolean {
  const t = pgType.toLowerCase();
  return t === 'numeric' || (t.startsWith('numeric(') && !t.endsWith('[]') && !fitsDecimal(t));
}

/** DuckDB type for a Postgres column, by the type name Postgres reports (format_type). */
export function duckTypeForPg(pgType: string): string {
  const t = pgType.toLowerCase();
  // Arrays travel as JSON (array_to_json) and become a list of the element's type; arrays of
  // bytea (no JSON form) stay JSON; a numeric no DECIMAL holds becomes exact text.
  if (t.endsWith('[]')) {
    const element = duckTypeForPg(t.slice(0, -2));
    return element === 'JSON' || element === 'BLOB' ? 'JSON' : `${element}[]`;
  }
  if (t === 'smallint' || t === 'integer' || t === 'bigint' || t === 'boolean' || t === 'date' || t === 'uuid' || t === 'interval') return t.toUpperCase();
  if (t === 'real') return 'FLOAT';
  if (t === 'double precision') return 'DOUBLE';
  if (t.startsWith('numeric(')) return fitsDecimal(t) ? t.replace('numeric', 'DECIMAL').toUpperCase() : 'VARCHAR';
  if (t === 'numeric') return 'VARCHAR';
  if (t.startsWith('timestamp') && t.includes('with time zone')) return 'TIMESTAMPTZ';
  if (t.startsWith('timestamp')) return 'TIMESTAMP';
  if (t.startsWith('time') && t.includes('with time zone')) return 'TIMETZ';
  if (t.startsWith('time')) return 'TIME';
  if (t === 'bytea') return 'BLOB';
  if (t === 'json' || t === 'jsonb') return 'JSON';
  return 'VARCHAR';
}
