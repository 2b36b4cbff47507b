import { duckTypeName } from '../duck-type-name';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type DuckDBConnection } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CsvRecordCounter } from './csv-records';
import { binaryColumnFor, binaryHeader, binaryTrailer, encodeRows, PG_TYPE_OF, vectorBytes, type BinaryColumn, type ReadPointer } from './pg-binary';
import { pgColumnFor, type PgColumn } from './pg-types';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';

export const WRITE_POLICIES = ['replace', 'append', 'fail'] as const;
export type WritePolicy = (typeof WRITE_POLICIES)[number];

export interface PostgresExportOptions {
  schema: string;
  table: string;
  writePolicy: WritePolicy;
  /** Upsert: rows whose key columns match an existing row update it instead of adding one. */
  uniqueConstraints?: readonly string[];
  /** Called as rows reach Postgres, with the exact count so far. */
  onRows?: (rows: number) => void;
  /**
   * Set when the source is a stored table of this many rows: the rows can then stream as binary
   * COPY, checked against this count (a DuckDB stream ends the same way whether it finished or failed).
   */
  sourceRows?: number;
}

/**
 * The load's writes go to disk as they are made (PostgreSQL asks the OS to write back every 1 MB a
 * backend writes), not all at its commit: a table created and loaded in one transaction is synced
 * whole when it commits (wal_level=minimal skips the WAL for it), and 300 MB synced at once held
 * every other commit on the same server for up to 0.3 s (dispatch of runs among them: bench
 * 'dispatch', a bare commit's p99 went from 278 ms to 68 ms during 5M-row exports). Any role may
 * set it, so it holds on an external server too; a server that refuses it (one without the
 * setting) exports unpaced.
 */
const PACED_WRITEBACK = "SET backend_flush_after = '1MB'";

/** How the rows travelled: binary COPY for stored tables of plain types, CSV otherwise. */
export type CopyFormat = 'binary' | 'csv';

interface Copied {
  rows: number;
  format: CopyFormat;
}

export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}

interface ExportColumn extends PgColumn {
  /** How the column travels in binary COPY; null when only CSV can carry it. */
  binary: BinaryColumn | null;
}

async function describe(duck: DuckDBConnection, source: string): Promise<ExportColumn[]> {
  const reader = await duck.runAndReadUntil(`SELECT * FROM ${source} LIMIT 0`, 0);
  const types = reader.columnTypes();
  return reader.columnNames().map((name, i) => {
    const type = duckTypeName(types[i]);
    return { ...pgColumnFor(name, type), binary: binaryColumnFor(type) };
  });
}

/** The binary encodings of all columns, or null when any column needs CSV or the source is not a table of known size. */
function binaryColumns(columns: readonly ExportColumn[], sourceRows: number | undefined): CopyOptions['binary'] {
  const binary = columns.flatMap((c) => (c.binary ? [c.binary] : []));
  return binary.length === columns.length && sourceRows !== undefined ? { columns: binary, rows: sourceRows } : null;
}

/**
 * Whether an existing table's columns have exactly the types binary COPY will send: binary input
 * is strict (an int8 is refused by an integer column), where CSV text would be converted.
 */
async function tableTakesBinary(client: pg.Client, schema: string, table: string, columns: readonly ExportColumn[]): Promise<boolean> {
  const res = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, table],
  );
  const types = new Map<string, string>();
  for (const row of res.rows) {
    if (row && typeof row === 'object' && 'name' in row && 'type' in row && typeof row.name === 'string' && typeof row.type === 'string') types.set(row.name, row.type);
  }
  return columns.every((c) => c.binary !== null && types.get(c.name) === PG_TYPE_OF[c.binary.kind]);
}

/**
 * What a DROP of `table` (schema-qualified, quoted) would break: views, materialized views and SQL
 * functions that read it (`views`, by name; `materialized` those to refresh after a reload), and
 * foreign keys of other tables that refer to it (`foreignKeys`, by name).
 */
async function dependentsOf(client: pg.Client, table: string): Promise<{ views: string[]; materialized: string[]; foreignKeys: string[] }> {
  const res = await client.query(
    `SELECT DISTINCT COALESCE(v.oid::regclass::text, pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)) AS name,
            CASE WHEN v.relkind = 'm' THEN 'materialized' ELSE 'view' END AS kind
       FROM pg_catalog.pg_depend d
       LEFT JOIN pg_catalog.pg_rewrite r ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND r.oid = d.objid
       LEFT JOIN pg_catalog.pg_class v ON v.oid = r.ev_class
      WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = $1::regclass AND d.deptype = 'n'
        AND d.classid <> 'pg_catalog.pg_constraint'::regclass AND (v.oid IS NULL OR v.oid <> $1::regclass)
     UNION ALL
     -- Functions taking the table's row type, and columns of other tables holding it.
     SELECT DISTINCT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), 'view'
       FROM pg_catalog.pg_depend d
      WHERE d.refclassid = 'pg_catalog.pg_type'::regclass AND d.deptype = 'n'
        AND d.refobjid = (SELECT reltype FROM pg_catalog.pg_class WHERE oid = $1::regclass)
     UNION ALL
     SELECT DISTINCT format('%s (foreign key %s)', c.conrelid::regclass::text, c.conname), 'fk' FROM pg_catalog.pg_constraint c
      WHERE c.contype = 'f' AND c.confrelid = $1::regclass AND c.conrelid <> $1::regclass
     ORDER BY 1`,
    [table],
  );
  const out = { views: [] as string[], materialized: [] as string[], foreignKeys: [] as string[] };
  for (const row of res.rows) {
    if (!row || typeof row !== 'object' || !('name' in row) || typeof row.name !== 'string' || !('kind' in row)) continue;
    if (row.kind === 'fk') out.foreignKeys.push(row.name);
    else out.views.push(row.name);
    if (row.kind === 'materialized') out.materialized.push(row.name);
  }
  return out;
}

/**
 * Whether an existing column type takes every value of the new one unchanged: the same type, or a
 * numeric at least as wide on both sides of the point (an unconstrained numeric takes any).
 */
function takesValuesOf(existing: string, next: string): boolean {
  if (existing === next) return true;
  const numeric = (t: string) => /^numeric(?:\((\d+),(\d+)\))?$/.exec(t);
  const [a, b] = [numeric(existing), numeric(next)];
  if (!a || !b) return false;
  if (a[1] === undefined) return true;
  if (b[1] === undefined) return false;
  const [pa, sa, pb, sb] = [Number(a[1]), Number(a[2]), Number(b[1]), Number(b[2])];
  return sa >= sb && pa - sa >= pb - sb;
}

/** A table's columns in order, types as Postgres spells them (format_type). */
async function columnTypes(client: pg.Client, table: string): Promise<{ name: string; type: string }[]> {
  const res = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table],
  );
  return res.rows.flatMap((row: unknown) =>
    row && typeof row === 'object' && 'name' in row && 'type' in row && typeof row.name === 'string' && typeof row.type === 'string' ? [{ name: row.name, type: row.type }] : [],
  );
}

/**
 * Makes sure the schema exists and says whether the table does, in one round trip (each costs
 * a few milliseconds of a 250 ms export on a busy machine).
 */
async function ensureSchema(client: pg.Client, schema: string, table: string): Promise<boolean> {
  const results: unknown = await client.query(
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)};
     SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = ${client.escapeLiteral(schema)} AND tablename = ${client.escapeLiteral(table)}`,
  );
  const last: unknown = Array.isArray(results) ? results[results.length - 1] : results;
  return last !== null && typeof last === 'object' && 'rowCount' in last && typeof last.rowCount === 'number' && last.rowCount > 0;
}

interface CopyOptions {
  freeze?: boolean;
  /** Send binary COPY, expecting this many rows; only when every column has a binary encoding the target takes. */
  binary?: { columns: readonly BinaryColumn[]; rows: number } | null;
  onRows?: (rows: number) => void;
}

function copyStatement(target: string, columns: readonly PgColumn[], format: 'csv' | 'binary', freeze: boolean): string {
  return `COPY ${target} (${columns.map((c) => quoteIdentifier(c.name)).join(', ')}) FROM STDIN WITH (FORMAT ${format}${freeze ? ', FREEZE' : ''})`;
}

/**
 * Writes into a COPY and knows when it has failed: Postgres can refuse a row (a date out of its
 * range) while we wait for the stream to drain, and that wait must end in the refusal, not hang
 * or leave the error unhandled.
 */
function copySink(copy: NodeJS.WritableStream): { write(chunk: Buffer): Promise<void>; done: Promise<void> } {
  let failure: unknown = null;
  const done = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', (e: unknown) => {
      failure = e;
      reject(e);
    });
  });
  // Awaited at the end or raced below; this only keeps an early failure from counting as unhandled.
  done.catch(() => undefined);
  return {
    done,
    async write(chunk) {
      if (failure) throw failure;
      if (!copy.write(chunk)) await Promise.race([new Promise((r) => copy.once('drain', r)), done]);
    },
  };
}

const readPointer: ReadPointer = (data, offset, length) => {
  // Vector data is always a plain (external) ArrayBuffer; the check only narrows the type.
  if (!(data.buffer instanceof ArrayBuffer)) throw new ExportError('DuckDB returned string data outside an ArrayBuffer');
  return duckdb.get_data_from_pointer(data.buffer, data.byteOffset + offset, length);
};

/**
 * Streams a DuckDB table into Postgres as binary COPY: DuckDB hands over its column vectors chunk
 * by chunk, they are encoded straight into COPY rows, and the next chunk is fetched while this one
 * is encoded and sent. No value becomes a JS object; Postgres parses no text.
 */
async function copyBinary(
  duck: DuckDBConnection,
  source: string,
  columns: readonly PgColumn[],
  { columns: binary, rows: expected }: { columns: readonly BinaryColumn[]; rows: number },
  client: pg.Client,
  target: string,
  options: CopyOptions,
): Promise<Copied> {
  const select = columns.map((c, i) => {
    const cast = binary[i]?.cast;
    return cast ? `CAST(${quoteIdentifier(c.name)} AS ${cast}) AS ${quoteIdentifier(c.name)}` : quoteIdentifier(c.name);
  });
  const result = await duck.stream(`SELECT ${select.join(', ')} FROM ${source}`);
  const copy = client.query(copyFrom(copyStatement(target, columns, 'binary', options.freeze ?? false)));
  const sink = copySink(copy);
  let rows = 0;
  let next = result.fetchChunk();
  try {
    await sink.write(binaryHeader());
    for (;;) {
      const chunk = await next;
      if (!chunk || chunk.rowCount === 0) break;
      next = result.fetchChunk();
      const count = chunk.rowCount;
      const raw = binary.map((b, i) => {
        const vector = duckdb.data_chunk_get_vector(chunk.chunk, i);
        // A null validity mask means every value in the vector is valid.
        const validity: Uint8Array | null = duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8) ?? null;
        return { kind: b.kind, data: duckdb.vector_get_data(vector, vectorBytes(b.kind, count)), validity };
      });
      const encoded = encodeRows(raw, count, readPointer);
      rows += count;
      options.onRows?.(rows);
      await sink.write(encoded);
    }
    // DuckDB's C API ends a failed stream like a finished one, without the error: only the count tells.
    if (rows !== expected) throw new ExportError(`DuckDB stopped reading ${source} after ${rows} of its ${expected} rows; nothing was written`);
    await sink.write(binaryTrailer());
  } catch (e) {
    next.catch(() => undefined);
    copy.destroy(e instanceof Error ? e : new Error(String(e)));
    await sink.done.catch(() => undefined);
    throw e;
  }
  copy.end();
  await sink.done;
  return { rows: copy.rowCount ?? rows, format: 'binary' };
}

/**
 * Streams a DuckDB table into Postgres: binary COPY when every column has a binary encoding,
 * else CSV, which DuckDB writes into a named pipe while Postgres reads it through COPY FROM STDIN,
 * so both run at once and no row passes through JS as an object.
 */
async function copyInto(duck: DuckDBConnection, source: string, columns: readonly PgColumn[], client: pg.Client, target: string, options: CopyOptions = {}): Promise<Copied> {
  if (options.binary) return copyBinary(duck, source, columns, options.binary, client, target, options);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'grimoire-copy-'));
  const fifo = path.join(dir, 'rows.csv');
  try {
    await promisify(execFile)('mkfifo', [fifo]);
    const copy = client.query(copyFrom(copyStatement(target, columns, 'csv', options.freeze ?? false)));
    const sink = copySink(copy);
    // Open the reading end first: DuckDB's open for writing blocks until a reader exists.
    const fifoStream = createReadStream(fifo, { highWaterMark: 1 << 20 });
    const select = columns.map((c) => `${c.select} AS ${quoteIdentifier(c.name)}`).join(', ');
    // With insertion order preserved, DuckDB holds the whole CSV back until the end; a table in
    // Postgres has no row order, so let rows stream out as they are made (this connection only).
    await duck.run('SET SESSION preserve_insertion_order = false');
    const writing = duck
      .run(`COPY (SELECT ${select} FROM ${source}) TO ${quoteLiteral(fifo)} (FORMAT csv, HEADER false)`)
      .finally(() => duck.run('RESET SESSION preserve_insertion_order'));
    // The pipe's end-of-file looks the same whether DuckDB finished or failed, so the COPY is only
    // ended once DuckDB says it succeeded; otherwise Postgres is told to abort it (CopyFail).
    const counter = new CsvRecordCounter();
    const fed = (async () => {
      for await (const chunk of fifoStream) {
        if (options.onRows && Buffer.isBuffer(chunk)) options.onRows(counter.push(chunk));
        if (Buffer.isBuffer(chunk)) await sink.write(chunk);
      }
    })();
    try {
      await Promise.all([writing, fed]);
    } catch (e) {
      fifoStream.destroy();
      copy.destroy(e instanceof Error ? e : new Error(String(e)));
      await sink.done.catch(() => undefined);
      throw e;
    }
    copy.end();
    await sink.done;
    return { rows: copy.rowCount ?? 0, format: 'csv' };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Copies a DuckDB table into a temporary table of the client's session (`pg_temp.<name>`, gone
 * when the session ends or with DROP): how an upstream output reaches SQL that runs in Postgres
 * (a block with data_provider: postgres reading {{ df_1 }}). Binary COPY when every column has a
 * binary encoding, CSV otherwise. Returns the rows copied.
 */
export async function loadIntoTempTable(duck: DuckDBConnection, source: string, rowCount: number, client: pg.Client, name: string): Promise<number> {
  const columns = await describe(duck, source);
  if (columns.length === 0) throw new ExportError(`${source} has no columns to load into Postgres`);
  const target = `pg_temp.${quoteIdentifier(name)}`;
  await client.query(`DROP TABLE IF EXISTS ${target}; CREATE TEMP TABLE ${quoteIdentifier(name)} (${columns.map((c) => `${quoteIdentifier(c.name)} ${c.pgType}`).join(', ')})`);
  const copied = await copyInto(duck, source, columns, client, target, { binary: binaryColumns(columns, rowCount) });
  return copied.rows;
}

/**
 * Writes a DuckDB table (or any FROM-able expression) into Postgres with a write policy.
 * replace is atomic: rows go into a new table that takes the old one's place in one transaction,
 * so a failure half-way leaves the old table untouched.
 */
export async function exportToPostgres(duck: DuckDBConnection, source: string, client: pg.Client, options: PostgresExportOptions): Promise<{ rows: number; format: CopyFormat }> {
  const paced = await client.query(PACED_WRITEBACK).then(
    () => true,
    () => false,
  );
  try {
    return await exportRows(duck, source, client, options);
  } finally {
    if (paced) await client.query('RESET backend_flush_after').catch(() => undefined);
  }
}

async function exportRows(duck: DuckDBConnection, source: string, client: pg.Client, options: PostgresExportOptions): Promise<{ rows: number; format: CopyFormat }> {
  const columns = await describe(duck, source);
  if (columns.length === 0) throw new ExportError('the output has no columns to export');
  const schema = quoteIdentifier(options.schema);
  const target = `${schema}.${quoteIdentifier(options.table)}`;
  const ddl = (name: string) => `CREATE TABLE ${name} (${columns.map((c) => `${quoteIdentifier(c.name)} ${c.pgType}`).join(', ')})`;
  const keys = options.uniqueConstraints ?? [];
  for (const k of keys) {
    if (!columns.some((c) => c.name === k)) throw new ExportError(`unique constraint column "${k}" is not in the output (${columns.map((c) => c.name).join(', ')})`);
  }
  const exists = await ensureSchema(client, options.schema, options.table);
  if (options.writePolicy === 'fail' && exists) {
    throw new ExportError(`table ${options.schema}.${options.table} already exists (write_policy: fail)`);
  }

  const dependents = options.writePolicy === 'replace' && exists ? await dependentsOf(client, target) : { views: [], materialized: [], foreignKeys: [] };
  if (dependents.foreignKeys.length > 0) {
    throw new ExportError(`cannot replace ${options.schema}.${options.table}: ${dependents.foreignKeys.join(', ')} refer${dependents.foreignKeys.length === 1 ? 's' : ''} to it; use write_policy append (with unique_constraints) or drop the foreign key`);
  }
  if (dependents.views.length > 0) {
    // Views (and materialized views) read the table: it stays, emptied and refilled in one
    // transaction, so they stay valid; readers wait for the commit (TRUNCATE's lock) and then see
    // the new rows. Only with the same columns: otherwise a view would silently change meaning.
    try {
      await client.query(`BEGIN; CREATE TEMP TABLE ${quoteIdentifier('grimoire_columns_probe')} (${columns.map((c) => `${quoteIdentifier(c.name)} ${c.pgType}`).join(', ')}) ON COMMIT DROP`);
      const [now, next] = [await columnTypes(client, target), await columnTypes(client, quoteIdentifier('grimoire_columns_probe'))];
      const fits = now.length === next.length && now.every((c, i) => c.name === next[i]?.name && takesValuesOf(c.type, next[i]?.type ?? ''));
      if (!fits) {
        const list = (cs: { name: string; type: string }[]) => cs.map((c) => `${c.name} ${c.type}`).join(', ');
        throw new ExportError(
          `cannot replace ${options.schema}.${options.table}: ${dependents.views.join(', ')} depend${dependents.views.length === 1 ? 's' : ''} on it and its columns would change ` +
            `(now ${list(now)}; the output has ${list(next)}); keep the columns, or drop or change ${dependents.views.length === 1 ? 'that' : 'those'} first`,
        );
      }
      const same = now.every((c, i) => c.type === next[i]?.type);
      await client.query(`TRUNCATE ${target}`);
      // COPY FREEZE takes plain tables only, not a partitioned one.
      const kind = await client.query(`SELECT relkind::text AS kind FROM pg_catalog.pg_class WHERE oid = $1::regclass`, [target]);
      const plain: unknown = kind.rows[0] && typeof kind.rows[0] === 'object' && 'kind' in kind.rows[0] ? kind.rows[0].kind : null;
      // Binary input must match the column types exactly; wider columns take CSV text.
      const copied = await copyInto(duck, source, columns, client, target, { freeze: plain === 'r', binary: same ? binaryColumns(columns, options.sourceRows) : null, onRows: options.onRows });
      // Materialized views read the old rows until refreshed: refreshed in the same transaction.
      for (const view of dependents.materialized) await client.query(`REFRESH MATERIALIZED VIEW ${view}`);
      await client.query('COMMIT');
      return copied;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  if (options.writePolicy === 'replace' || !exists) {
    // One transaction: the new table is created, filled and swapped in, or nothing happened.
    // Creating and loading a table in the same transaction also lets Postgres skip the WAL
    // (wal_level=minimal, as the embedded server runs) and write the rows frozen.
    const staging = `${options.table.slice(0, 40)}__grimoire_${randomBytes(4).toString('hex')}`;
    const stagingName = `${schema}.${quoteIdentifier(staging)}`;
    // Statements travel together where nothing runs between them: a failing one skips the rest
    // and leaves the transaction aborted, so the ROLLBACK below still undoes everything.
    try {
      await client.query(`BEGIN; ${ddl(stagingName)}`);
      const copied = await copyInto(duck, source, columns, client, stagingName, { freeze: true, binary: binaryColumns(columns, options.sourceRows), onRows: options.onRows });
      const swap = [
        ...(exists ? [`DROP TABLE ${target}`] : []),
        `ALTER TABLE ${stagingName} RENAME TO ${quoteIdentifier(options.table)}`,
        ...(keys.length > 0 ? [`CREATE UNIQUE INDEX ON ${target} (${keys.map(quoteIdentifier).join(', ')})`] : []),
        'COMMIT',
      ];
      await client.query(swap.join('; '));
      return copied;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  const binary = options.sourceRows !== undefined && (await tableTakesBinary(client, options.schema, options.table, columns)) ? binaryColumns(columns, options.sourceRows) : null;
  if (keys.length === 0) {
    // append: one COPY is one statement, so it lands whole or not at all.
    return copyInto(duck, source, columns, client, target, { binary, onRows: options.onRows });
  }

  // upsert: COPY into a temporary table, then one INSERT ... ON CONFLICT in a transaction.
  const temp = quoteIdentifier(`grimoire_upsert_${randomBytes(4).toString('hex')}`);
  await client.query('BEGIN');
  try {
    await client.query(`CREATE TEMP TABLE ${temp} (LIKE ${target} INCLUDING DEFAULTS) ON COMMIT DROP`);
    const copied = await copyInto(duck, source, columns, client, temp, { binary, onRows: options.onRows });
    await client.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdentifier(`${options.table.slice(0, 40)}_grimoire_upsert_key`)} ON ${target} (${keys.map(quoteIdentifier).join(', ')})`);
    const names = columns.map((c) => quoteIdentifier(c.name));
    const updates = columns.filter((c) => !keys.includes(c.name)).map((c) => `${quoteIdentifier(c.name)} = EXCLUDED.${quoteIdentifier(c.name)}`);
    await client.query(
      `INSERT INTO ${target} (${names.join(', ')}) SELECT ${names.join(', ')} FROM ${temp} ON CONFLICT (${keys.map(quoteIdentifier).join(', ')}) ` +
        (updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'),
    );
    await client.query('COMMIT');
    return copied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
