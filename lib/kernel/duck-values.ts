import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBDecimalType,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  JSDuckDBValueConverter,
  JsonDuckDBValueConverter,
  JSToDuckDBValueConverter,
  TIMESTAMP,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValueConverter,
  type JS,
  type Json,
} from '@duckdb/node-api';
import { quoteIdentifier } from '../sql-quote';

/**
 * Like DuckDB's JS converter, but 64-bit integers come back as numbers while they fit: block
 * authors write `r.passenger_count > 0` and `r.n + 1`, which a bigint would break. A DECIMAL of
 * more than 15 digits comes back as its exact text ("9007199254740993.03"): a number would round
 * it. Up to 15 digits a number is exact, and stays the easier value to compute with.
 */
export const rowValueConverter: DuckDBValueConverter<JS> = (value, type, converter) => {
  if ((type.typeId === DuckDBTypeId.BIGINT || type.typeId === DuckDBTypeId.UBIGINT) && typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
  }
  if (type instanceof DuckDBDecimalType && type.width > 15 && value instanceof DuckDBDecimalValue) return value.toString();
  if ((value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) && value.isFinite && value.micros % 1000n !== 0n) {
    return new MicrosecondDate(value.micros);
  }
  if (value instanceof DuckDBDateValue && !value.isFinite) return value.days > 0 ? 'infinity' : '-infinity';
  try {
    return JSDuckDBValueConverter(value, type, converter);
  } catch (e) {
    // A date or time a JS Date cannot hold (infinity, year 5874897) comes out as DuckDB's text
    // ('infinity'), never as an error of the block's rows() call.
    if (value !== null && typeof value === 'object' && (type.typeId === DuckDBTypeId.DATE || type.typeId === DuckDBTypeId.TIMESTAMP || type.typeId === DuckDBTypeId.TIMESTAMP_TZ || type.typeId === DuckDBTypeId.TIMESTAMP_MS || type.typeId === DuckDBTypeId.TIMESTAMP_S || type.typeId === DuckDBTypeId.TIMESTAMP_NS)) {
      return String(value);
    }
    throw e;
  }
};

/**
 * A timestamp rows() hands out whose microseconds a Date cannot hold: a Date (to the millisecond)
 * that remembers its exact microseconds, so a row returned unchanged writes the same instant back.
 * Once the block moves it (setTime, setHours...), getTime() no longer matches and the Date's own
 * value is used.
 */
export class MicrosecondDate extends Date {
  constructor(readonly micros: bigint) {
    // Floor, not truncation, for instants before 1970.
    super(Number(micros / 1000n - (micros % 1000n < 0n ? 1n : 0n)));
  }
}

/** ISO text of `v` with its microseconds when it still holds the instant it was read as. */
function isoWithMicros(v: Date): string {
  const iso = v.toISOString();
  if (!(v instanceof MicrosecondDate)) return iso;
  const remainder = ((v.micros % 1000n) + 1000n) % 1000n;
  const ms = (v.micros - remainder) / 1000n;
  if (BigInt(v.getTime()) !== ms) return iso;
  return iso.replace(/(\.\d{3})Z$/, `$1${remainder.toString().padStart(3, '0')}Z`);
}

/** For the wire: like DuckDB's JSON converter, but integers that fit stay numbers, not strings. */
export const previewValueConverter: DuckDBValueConverter<Json> = (value, type, converter) => {
  if ((type.typeId === DuckDBTypeId.BIGINT || type.typeId === DuckDBTypeId.UBIGINT || type.typeId === DuckDBTypeId.HUGEINT) && typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  return JsonDuckDBValueConverter(value, type, converter);
};

type Kind = 'int' | 'float' | 'bigint' | 'boolean' | 'string' | 'date' | 'json';

function kindOf(v: unknown): Kind | null {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'bigint';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    default:
      return v instanceof Date ? 'date' : 'json';
  }
}

function typeFor(kinds: ReadonlySet<Kind>): { type: DuckDBType; convert: (v: unknown) => JS } {
  const only = (...ks: Kind[]) => [...kinds].every((k) => ks.includes(k));
  if (kinds.size === 0) return { type: VARCHAR, convert: () => null };
  if (only('int', 'bigint')) return { type: BIGINT, convert: (v) => (typeof v === 'bigint' ? v : BigInt(Number(v))) };
  if (only('int', 'float', 'bigint')) return { type: DOUBLE, convert: (v) => Number(v) };
  if (only('boolean')) return { type: BOOLEAN, convert: (v) => v === true };
  if (only('date')) return { type: TIMESTAMP, convert: (v) => (v instanceof Date ? v : null) };
  // Mixed or nested values keep their text (objects as JSON) rather than failing the block.
  return {
    type: VARCHAR,
    convert: (v) => (typeof v === 'string' ? v : kindOf(v) === 'json' ? (jsonText(v) ?? String(v)) : v instanceof Date ? v.toISOString() : String(v)),
  };
}

/** Column types inferred from every row (not a sample), so a late float never breaks an int column. */
export function inferColumns(rows: readonly Record<string, unknown>[]) {
  const kinds = new Map<string, Set<Kind>>();
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      let set = kinds.get(key);
      if (!set) kinds.set(key, (set = new Set()));
      const k = kindOf(row[key]);
      if (k) set.add(k);
    }
  }
  return [...kinds].map(([name, set]) => ({ name, ...typeFor(set) }));
}

/**
 * A returned column that an upstream also has keeps the upstream's DuckDB type when every value
 * fits it as rows() hands such values out: a block that spreads `...r` and adds a column must not
 * turn DATE into TIMESTAMP, TIMESTAMPTZ into TIMESTAMP, DECIMAL into DOUBLE or INTEGER into BIGINT.
 * Returns the text each value is staged as (cast to the type in SQL), or null when a value does
 * not fit (the block changed the column: its type is inferred from the values).
 */
function hintedText(duckType: string): ((v: unknown) => string | null) | null {
  const t = duckType.toUpperCase();
  const intRange: Record<string, [bigint, bigint]> = {
    TINYINT: [-128n, 127n],
    SMALLINT: [-32768n, 32767n],
    INTEGER: [-2147483648n, 2147483647n],
    UTINYINT: [0n, 255n],
    USMALLINT: [0n, 65535n],
    UINTEGER: [0n, 4294967295n],
  };
  const range = intRange[t];
  if (range) {
    return (v) => {
      const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : null;
      return n !== null && n >= range[0] && n <= range[1] ? n.toString() : null;
    };
  }
  // rows() hands a date or time a Date cannot hold out as text ('infinity'); any text is tried
  // as the type (the column keeps it only when every value casts).
  if (t === 'DATE') {
    // rows() hands a DATE out as a Date at UTC midnight.
    return (v) => (typeof v === 'string' ? v : v instanceof Date && !Number.isNaN(v.getTime()) && v.getTime() % 86_400_000 === 0 ? v.toISOString().slice(0, 10) : null);
  }
  if (t === 'TIMESTAMP WITH TIME ZONE') return (v) => (typeof v === 'string' ? v : v instanceof Date && !Number.isNaN(v.getTime()) ? isoWithMicros(v) : null);
  if (t === 'TIMESTAMP') return (v) => (typeof v === 'string' ? v : v instanceof Date && !Number.isNaN(v.getTime()) ? isoWithMicros(v).replace('Z', '') : null);
  if (t === 'TIMESTAMP_MS') return (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString().replace('Z', '') : null);
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) {
    const [precision, scale] = [Number(decimal[1]), Number(decimal[2])];
    const fits = (text: string) => {
      const m = /^-?(\d+)(?:\.(\d+))?$/.exec(text);
      return m !== null && (m[1] ?? '').replace(/^0+(?=\d)/, '').length <= precision - scale && (m[2] ?? '').length <= scale;
    };
    return (v) => {
      // A number is written at the column's scale (never 1e-7), and only when that is the same number.
      const text =
        typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) && Number(v.toFixed(scale)) === v ? v.toFixed(scale) : typeof v === 'bigint' ? v.toString() : null;
      return text !== null && fits(text) ? text : null;
    };
  }
  if (t === 'BIGINT' || t === 'UBIGINT' || t === 'HUGEINT' || t === 'UHUGEINT') {
    return (v) => (typeof v === 'bigint' ? v.toString() : typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : null);
  }
  // String(-0) is '0': the sign of a negative zero is written out.
  if (t === 'FLOAT' || t === 'DOUBLE') return (v) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0.0' : String(v)) : null);
  if (t === 'UUID') return (v) => (typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) ? v : null);
  if (t === 'JSON') return (v) => (typeof v === 'string' ? (isJson(v) ? v : null) : jsonText(v));
  // rows() hands a TIME out as microseconds since midnight, an INTERVAL as { months, days, micros }.
  if (t === 'TIME') {
    return (v) => {
      // 24:00:00 is a TIME too (the end of a day).
      if (typeof v !== 'bigint' || v < 0n || v > 86_400_000_000n) return null;
      const [h, m, sec, us] = [v / 3_600_000_000n, (v / 60_000_000n) % 60n, (v / 1_000_000n) % 60n, v % 1_000_000n];
      return `${h}:${m}:${sec}.${us.toString().padStart(6, '0')}`;
    };
  }
  if (t === 'INTERVAL') {
    return (v) =>
      v !== null && typeof v === 'object' && 'months' in v && 'days' in v && 'micros' in v && typeof v.months === 'number' && typeof v.days === 'number' && typeof v.micros === 'bigint'
        ? `${v.months} months ${v.days} days ${v.micros} microseconds`
        : null;
  }
  if (t === 'BLOB') return (v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : null);
  // Lists and structs: rows() hands out arrays and objects; they travel as JSON text. (A MAP's
  // entries have no JSON form DuckDB casts back: typed by value, as text.)
  if ((t.endsWith(']') || t.startsWith('STRUCT')) && !t.includes('MAP(')) {
    return (v) => (typeof v === 'object' && v !== null && !(v instanceof Date) && !(v instanceof Uint8Array) ? jsonText(v) : null);
  }
  return null;
}

/** The SQL that turns a column staged as text (hintedText) into `duckType`. */
function castFromText(column: string, duckType: string): string {
  const t = duckType.toUpperCase();
  if (t === 'BLOB') return `from_hex(${column})`;
  if (t.endsWith(']') || t.startsWith('STRUCT')) return `CAST(CAST(${column} AS JSON) AS ${duckType})`;
  return `CAST(${column} AS ${duckType})`;
}

/**
 * JSON text of a value rows() handed out: 64-bit integers as numbers while they fit, else as
 * strings. Null when it has no faithful JSON form (bytes, which would become {"type":"Buffer"}).
 */
function jsonText(v: unknown): string | null {
  try {
    return JSON.stringify(v, function (this: unknown, key: string, x: unknown) {
      const raw: unknown = this !== null && typeof this === 'object' ? Reflect.get(this, key) : x;
      if (raw instanceof Uint8Array) throw new Error('bytes have no JSON form');
      // A timestamp nested in a struct or list keeps the microseconds it was read with.
      if (raw instanceof MicrosecondDate) return isoWithMicros(raw);
      return typeof x === 'bigint' ? (x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x.toString()) : x;
    });
  } catch {
    return null;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const CHUNK = 2048;
let stages = 0;

/**
 * DuckDB has no zero-column tables, so "no output" (an exporter that returns nothing) is a table
 * with this one column and no rows; `describe` hides it, so users see 0 rows and no columns.
 */
export const EMPTY_COLUMN = '__grimoire_no_output__';

/**
 * Creates `table` from plain objects through DuckDB's appender, a data chunk (2,048 rows) at a time.
 * Row-wise INSERTs would be two orders of magnitude slower.
 */
export async function createTableFromRows(
  connection: DuckDBConnection,
  table: string,
  rows: readonly Record<string, unknown>[],
  temporary = false,
  /** Column name -> DuckDB type of the block's upstreams: a column that still fits keeps it (hintedText). */
  hints: ReadonlyMap<string, string> = new Map(),
): Promise<void> {
  const inferred = inferColumns(rows);
  if (inferred.length === 0) {
    await connection.run(`CREATE ${temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(table)} (${quoteIdentifier(EMPTY_COLUMN)} BOOLEAN)`);
    return;
  }
  // Columns that keep an upstream's type are staged as text and cast once in SQL.
  const kept = new Map<string, string>();
  const columns = inferred.map((c) => {
    const hint = hints.get(c.name);
    const toText = hint === undefined ? null : hintedText(hint);
    if (hint === undefined || toText === null) return c;
    // Every value fits (a column of only NULLs keeps the upstream's type too).
    const texts = rows.map((r) => r[c.name]).filter((v) => v !== null && v !== undefined);
    if (!texts.every((v) => toText(v) !== null)) return c;
    kept.set(c.name, hint);
    return { name: c.name, type: VARCHAR, convert: (v: unknown): JS => toText(v) };
  });
  if (kept.size > 0) {
    // A name of its own each time: a retry with fewer hints must not meet the dropped one.
    const stage = `${table}__rows_${++stages}`;
    await appendRows(connection, stage, columns, rows, true);
    const select = columns.map((c) => {
      const type = kept.get(c.name);
      return type === undefined ? quoteIdentifier(c.name) : `${castFromText(quoteIdentifier(c.name), type)} AS ${quoteIdentifier(c.name)}`;
    });
    const staged = `temp.main.${quoteIdentifier(stage)}`;
    try {
      // A value the checks let through that DuckDB still refuses (a list of another element type,
      // a date past year 9999) takes its column's hint away: that column is typed by its values.
      const probes = [...kept].map(([name, type]) => `count(*) FILTER (WHERE ${quoteIdentifier(name)} IS NOT NULL AND TRY(${castFromText(quoteIdentifier(name), type)}) IS NULL)`);
      const [refused] = (await connection.runAndReadAll(`SELECT ${probes.join(', ')} FROM ${staged}`)).getRows();
      const failing = [...kept.keys()].filter((_, i) => Number(refused?.[i] ?? 0) > 0);
      if (failing.length > 0) {
        const fewer = new Map([...hints].filter(([name]) => !failing.includes(name)));
        await connection.run(`DROP TABLE IF EXISTS ${staged}`);
        return createTableFromRows(connection, table, rows, temporary, fewer);
      }
      await connection.run(`CREATE ${temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(table)} AS SELECT ${select.join(', ')} FROM ${staged}`);
    } finally {
      await connection.run(`DROP TABLE IF EXISTS ${staged}`);
    }
    return;
  }
  await appendRows(connection, table, columns, rows, temporary);
}

/** Creates `table` with `columns` and appends `rows` a data chunk at a time. */
async function appendRows(
  connection: DuckDBConnection,
  table: string,
  columns: readonly { name: string; type: DuckDBType; convert: (v: unknown) => JS }[],
  rows: readonly Record<string, unknown>[],
  temporary: boolean,
): Promise<void> {
  const ddl = columns.map((c) => `${quoteIdentifier(c.name)} ${c.type.toString()}`).join(', ');
  await connection.run(`CREATE ${temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(table)} (${ddl})`);
  // Temporary tables live in the "temp" catalog's main schema.
  const appender = temporary ? await connection.createAppender(table, 'main', 'temp') : await connection.createAppender(table);
  const types = columns.map((c) => c.type);
  for (let start = 0; start < rows.length; start += CHUNK) {
    const slice = rows.slice(start, start + CHUNK);
    const chunk = DuckDBDataChunk.create(types, slice.length);
    columns.forEach((c, i) => {
      const values = slice.map((r): JS => {
        const v = r[c.name];
        return v === null || v === undefined ? null : c.convert(v);
      });
      chunk.setColumnValuesConverted(i, values, JSToDuckDBValueConverter);
    });
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}
