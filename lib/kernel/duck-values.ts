import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
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
 * authors write `r.passenger_count > 0` and `r.n + 1`, which a bigint would break.
 */
export const rowValueConverter: DuckDBValueConverter<JS> = (value, type, converter) => {
  if ((type.typeId === DuckDBTypeId.BIGINT || type.typeId === DuckDBTypeId.UBIGINT) && typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
  }
  return JSDuckDBValueConverter(value, type, converter);
};

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
    convert: (v) => (typeof v === 'string' ? v : kindOf(v) === 'json' ? JSON.stringify(v) : v instanceof Date ? v.toISOString() : String(v)),
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

const CHUNK = 2048;

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
): Promise<void> {
  const columns = inferColumns(rows);
  if (columns.length === 0) {
    await connection.run(`CREATE ${temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(table)} (${quoteIdentifier(EMPTY_COLUMN)} BOOLEAN)`);
    return;
  }
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
