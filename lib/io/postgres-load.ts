import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { CsvRecordCounter } from './csv-records';
import { duckTypeForPg, numericDecidedByValues } from './pg-types';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';

/**
 * The query as one expression to wrap: trailing comment lines and semicolons removed. Wrapped
 * with line breaks around it, so a `-- comment` on its last line cannot swallow the wrapper's `)`.
 */
function stripSemicolons(sql: string): string {
  // Scanned as Postgres reads it, so a `--` or `;` inside a string, an identifier or a comment is
  // never taken for the end: the query ends after its last character outside comments that is
  // not a semicolon.
  let end = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql.charAt(i);
    const next = sql.charAt(i + 1);
    if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl;
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else if (c === "'" || c === '"') {
      let k = i + 1;
      for (;;) {
        const close = sql.indexOf(c, k);
        if (close < 0) {
          k = sql.length;
          break;
        }
        // A doubled quote is the quote itself, inside the string.
        if (sql.charAt(close + 1) === c) k = close + 2;
        else {
          k = close + 1;
          break;
        }
      }
      i = k;
      end = i;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0] ?? '$$';
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? sql.length : close + tag.length;
      end = i;
    } else {
      if (c !== ';' && !/\s/.test(c)) end = i + 1;
      i++;
    }
  }
  return sql.slice(0, end);
}

/**
 * Output settings the CSV reader below depends on, pinned for this session whatever the server,
 * database or role sets: ISO dates, Postgres-style intervals, floats printed exactly.
 */
const SESSION_SETTINGS = "SET datestyle = 'ISO, MDY'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3";



/**
 * Runs a query in Postgres and lands its result in DuckDB as `target`: COPY (query) TO STDOUT
 * streams CSV to a scratch file that DuckDB reads with the column types Postgres reported,
 * never row by row through JS. A `numeric` without precision (sum() of a numeric column) becomes
 * an exact DECIMAL(38,s) that holds every value; when none can (NaN, infinities, more than
 * 38 digits) it stays text, and its name is in the returned `textColumns` for the caller to say so.
 */
export async function loadPostgresQuery(
  client: pg.Client,
  sql: string,
  duck: DuckDBConnection,
  target: string,
  temporary: boolean,
  /** Called as rows arrive from Postgres, with the exact count so far. */
  onRows?: (rows: number) => void,
): Promise<{ textColumns: string[] }> {
  const query = `\n${stripSemicolons(sql)}\n`;
  await client.query(SESSION_SETTINGS);
  const shape = await client.query({ text: `SELECT * FROM (${query}) AS grimoire_q LIMIT 0` });
  if (shape.fields.length === 0) throw new Error('the Postgres query returns no columns');
  // A table needs a name per column: say which, rather than DuckDB's "Duplicate struct entry name".
  const seen = new Set<string>();
  const twice = [...new Set(shape.fields.map((f) => f.name).filter((n) => seen.has(n) || !seen.add(n)))];
  if (twice.length > 0) throw new Error(`the Postgres query returns more than one column named ${twice.map((n) => JSON.stringify(n)).join(', ')}: give each its own name (AS ...)`);
  const typeNames = await client.query<{ t: string }>(
    'SELECT format_type(oid, mod) AS t FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS f(oid, mod, i) ORDER BY i',
    [shape.fields.map((f) => f.dataTypeID), shape.fields.map((f) => f.dataTypeModifier)],
  );
  const pgTypes = shape.fields.map((_, i) => typeNames.rows[i]?.t ?? 'text');
  // Unconstrained numerics arrive as text; their DECIMAL is decided from the values below.
  const exactLater = shape.fields.filter((_, i) => numericDecidedByValues(pgTypes[i] ?? 'text')).map((f) => f.name);
  // Arrays arrive as JSON text and become lists once in DuckDB; bytea as hex, then BLOB.
  const arrays = new Map(shape.fields.flatMap((f, i) => (pgTypes[i]?.endsWith('[]') ? [[f.name, duckTypeForPg(pgTypes[i] ?? 'text')] as const] : [])));
  const bytes = new Set(shape.fields.filter((_, i) => pgTypes[i] === 'bytea').map((f) => f.name));
  // Intervals travel as months, days and microseconds: DuckDB reads that whatever the signs
  // ('-1 days +02:00:00' is not something it parses).
  const intervals = new Set(shape.fields.filter((_, i) => pgTypes[i] === 'interval').map((f) => f.name));
  // A date before year 1 prints as '0044-03-15 BC', which DuckDB would read as AD: it reads '(BC)'.
  const dates = new Set(shape.fields.filter((_, i) => pgTypes[i] === 'date').map((f) => f.name));
  const columns = shape.fields.map((f, i) => `${quoteLiteral(f.name)}: ${quoteLiteral(exactLater.includes(f.name) || arrays.has(f.name) || bytes.has(f.name) ? 'VARCHAR' : duckTypeForPg(pgTypes[i] ?? 'text'))}`);
  // Numbers inside arrays travel as their text: JSON numbers would pass through a double.
  const numericArrays = new Set(shape.fields.filter((f, i) => arrays.has(f.name) && /^numeric/.test(pgTypes[i] ?? '')).map((f) => f.name));
  const names = shape.fields.map((f) => f.name);
  const intervalText = (c: string) =>
    `((extract(year from ${c}) * 12 + extract(month from ${c}))::bigint)::text || ' months ' || (extract(day from ${c})::bigint)::text || ' days ' || ` +
    `((extract(hour from ${c}) * 3600 + extract(minute from ${c}) * 60) * 1000000 + extract(microseconds from ${c}))::bigint::text || ' microseconds'`;
  const dateText = (c: string) => `CASE WHEN ${c} < DATE '0001-01-01' THEN replace(${c}::text, ' BC', ' (BC)') ELSE ${c}::text END`;
  const sent = (n: string) =>
    dates.has(n)
      ? `${dateText(`grimoire_q.${quoteIdentifier(n)}`)} AS ${quoteIdentifier(n)}`
      : intervals.has(n)
      ? `${intervalText(`grimoire_q.${quoteIdentifier(n)}`)} AS ${quoteIdentifier(n)}`
      : arrays.has(n)
      ? `array_to_json(grimoire_q.${quoteIdentifier(n)}${numericArrays.has(n) ? '::text[]' : ''})::text AS ${quoteIdentifier(n)}`
      : bytes.has(n)
        ? `encode(grimoire_q.${quoteIdentifier(n)}, 'hex') AS ${quoteIdentifier(n)}`
        : `grimoire_q.${quoteIdentifier(n)}`;
  // Only then is the query wrapped (its columns then need names of their own).
  const copied = arrays.size === 0 && bytes.size === 0 && intervals.size === 0 && dates.size === 0 ? query : `SELECT ${names.map(sent).join(', ')} FROM (${query}) AS grimoire_q`;
  const convertedToText: string[] = [];
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'grimoire-pg-'));
  const file = path.join(dir, 'rows.csv');
  try {
    const counter = new CsvRecordCounter();
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        onRows?.(counter.push(chunk));
        done(null, chunk);
      },
    });
    await pipeline(client.query(copyTo(`COPY (${copied}) TO STDOUT WITH (FORMAT csv)`)), count, createWriteStream(file));
    const create = (cols: readonly string[]) =>
      duck.run(
        `CREATE ${temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(target)} AS SELECT * FROM read_csv(${quoteLiteral(file)}, header = false, auto_detect = false, ` +
          `quote = '"', escape = '"', delim = ',', allow_quoted_nulls = false, columns = {${cols.join(', ')}})`,
      );
    try {
      await create(columns);
    } catch (e) {
      if (!/Could not convert string/.test(e instanceof Error ? e.message : String(e))) throw e;
      // A value DuckDB's type cannot hold (NaN in a numeric(12,4), a date before year 1): the
      // column is read as text, then given its type when every value casts, else kept as text.
      await create(shape.fields.map((f) => `${quoteLiteral(f.name)}: 'VARCHAR'`));
      for (const [i, f] of shape.fields.entries()) {
        const intended = /'([^']*)'$/.exec(columns[i] ?? '')?.[1] ?? 'VARCHAR';
        if (intended === 'VARCHAR') continue;
        const c = quoteIdentifier(f.name);
        const probe = await duck.runAndReadAll(`SELECT count(*) FILTER (WHERE ${c} IS NOT NULL AND TRY_CAST(${c} AS ${intended}) IS NULL)::INTEGER AS bad FROM ${quoteIdentifier(target)}`);
        if (Number(probe.getRowObjectsJS()[0]?.bad ?? 1) === 0) await duck.run(`ALTER TABLE ${quoteIdentifier(target)} ALTER ${c} TYPE ${intended}`);
        else convertedToText.push(f.name);
      }
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  const textColumns: string[] = [...convertedToText];
  for (const name of bytes) {
    await duck.run(`ALTER TABLE ${quoteIdentifier(target)} ALTER ${quoteIdentifier(name)} TYPE BLOB USING from_hex(${quoteIdentifier(name)})`);
  }
  for (const [name, type] of arrays) {
    const column = quoteIdentifier(name);
    // Arrays of JSON (jsonb[]) or bytea are JSON already: taken as they are, never re-encoded.
    if (type === 'JSON') {
      await duck.run(`ALTER TABLE ${quoteIdentifier(target)} ALTER ${column} TYPE JSON`);
      continue;
    }
    // Through text elements (exact numbers, ISO times); a multi-dimensional array does not fit a
    // flat list: it stays JSON.
    const listed = await duck
      .run(`ALTER TABLE ${quoteIdentifier(target)} ALTER ${column} TYPE ${type} USING CAST(CAST(CAST(${column} AS JSON) AS VARCHAR[]) AS ${type})`)
      .then(
        () => true,
        () => duck.run(`ALTER TABLE ${quoteIdentifier(target)} ALTER ${column} TYPE JSON`).then(() => false),
      );
    // An array of unconstrained numerics: an exact DECIMAL list when one holds every element,
    // else each number stays exact text (with the warning).
    if (listed && type === 'VARCHAR[]' && numericArrays.has(name)) {
      const decimal = await exactDecimal(duck, `(SELECT unnest(${column}) AS ${column} FROM ${quoteIdentifier(target)})`, name, true);
      if (decimal === null) textColumns.push(name);
      else await duck.run(`ALTER TABLE ${quoteIdentifier(target)} ALTER ${column} TYPE ${decimal}[] USING CAST(${column} AS ${decimal}[])`);
    }
  }
  for (const name of exactLater) {
    const type = await exactDecimal(duck, target, name);
    if (type === null) textColumns.push(name);
    else await duck.run(`ALTER TABLE ${quoteIdentifier(target)} ALTER ${quoteIdentifier(name)} TYPE ${type}`);
  }
  return { textColumns };
}

/**
 * DECIMAL(38,s) with s the largest scale of a column of numeric text, when it holds every value
 * exactly (digits before the point + s <= 38), or null when no DECIMAL does. An empty column gets
 * DECIMAL(38,10).
 */
async function exactDecimal(duck: DuckDBConnection, table: string, column: string, tableIsQuery = false): Promise<string | null> {
  const c = quoteIdentifier(column);
  const reader = await duck.runAndReadAll(
    `SELECT coalesce(max(length(regexp_extract(${c}, '^-?0*(\\d*)', 1))), 0)::INTEGER AS whole,
            coalesce(max(length(regexp_extract(${c}, '\\.(\\d+)$', 1))), 0)::INTEGER AS scale,
            count(*) FILTER (WHERE ${c} IS NOT NULL AND NOT regexp_full_match(${c}, '-?\\d+(\\.\\d+)?'))::INTEGER AS other,
            count(${c})::INTEGER AS n
       FROM ${tableIsQuery ? table : quoteIdentifier(table)}`,
  );
  const [row] = reader.getRowObjectsJS();
  const [whole, scale, other, n] = [Number(row?.whole ?? 0), Number(row?.scale ?? 0), Number(row?.other ?? 0), Number(row?.n ?? 0)];
  if (other > 0) return null;
  if (n === 0) return 'DECIMAL(38,10)';
  // As wide as DuckDB goes, with the values' scale: the type stays the same from run to run while
  // the numbers grow (a destination's column, and the views on it, keep fitting).
  return whole + scale <= 38 ? `DECIMAL(38,${scale})` : null;
}
