import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CsvRecordCounter } from './csv-records';
import { pgColumnFor, type PgColumn } from './pg-types';
import { quotePg } from './postgres-client';

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
}

export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}

async function describe(duck: DuckDBConnection, source: string): Promise<PgColumn[]> {
  const reader = await duck.runAndReadUntil(`SELECT * FROM ${source} LIMIT 0`, 0);
  const types = reader.columnTypes();
  return reader.columnNames().map((name, i) => pgColumnFor(name, types[i]?.toString() ?? 'VARCHAR'));
}

async function tableExists(client: pg.Client, schema: string, table: string): Promise<boolean> {
  const res = await client.query('SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2', [schema, table]);
  return (res.rowCount ?? 0) > 0;
}

/**
 * Streams a DuckDB table into Postgres: DuckDB writes CSV into a named pipe while Postgres reads
 * it through COPY FROM STDIN, so both run at once and no row passes through JS as an object.
 */
async function copyInto(
  duck: DuckDBConnection,
  source: string,
  columns: PgColumn[],
  client: pg.Client,
  target: string,
  options: { freeze?: boolean; onRows?: (rows: number) => void } = {},
): Promise<number> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'grimoire-copy-'));
  const fifo = path.join(dir, 'rows.csv');
  try {
    await promisify(execFile)('mkfifo', [fifo]);
    const copy = client.query(copyFrom(`COPY ${target} (${columns.map((c) => quotePg(c.name)).join(', ')}) FROM STDIN WITH (FORMAT csv${options.freeze ? ', FREEZE' : ''})`));
    const copied = new Promise<void>((resolve, reject) => {
      copy.on('finish', resolve);
      copy.on('error', reject);
    });
    // Open the reading end first: DuckDB's open for writing blocks until a reader exists.
    const fifoStream = createReadStream(fifo, { highWaterMark: 1 << 20 });
    const select = columns.map((c) => `${c.select} AS ${quotePg(c.name)}`).join(', ');
    // With insertion order preserved, DuckDB holds the whole CSV back until the end; a table in
    // Postgres has no row order, so let rows stream out as they are made (this connection only).
    await duck.run('SET SESSION preserve_insertion_order = false');
    const writing = duck
      .run(`COPY (SELECT ${select} FROM ${source}) TO '${fifo.replaceAll("'", "''")}' (FORMAT csv, HEADER false)`)
      .finally(() => duck.run('RESET SESSION preserve_insertion_order'));
    // The pipe's end-of-file looks the same whether DuckDB finished or failed, so the COPY is only
    // ended once DuckDB says it succeeded; otherwise Postgres is told to abort it (CopyFail).
    const counter = new CsvRecordCounter();
    const fed = (async () => {
      for await (const chunk of fifoStream) {
        if (options.onRows && Buffer.isBuffer(chunk)) options.onRows(counter.push(chunk));
        if (!copy.write(chunk)) await new Promise((r) => copy.once('drain', r));
      }
    })();
    try {
      await Promise.all([writing, fed]);
    } catch (e) {
      fifoStream.destroy();
      copy.destroy(e instanceof Error ? e : new Error(String(e)));
      await copied.catch(() => undefined);
      throw e;
    }
    copy.end();
    await copied;
    return copy.rowCount ?? 0;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes a DuckDB table (or any FROM-able expression) into Postgres with a write policy.
 * replace is atomic: rows go into a new table that takes the old one's place in one transaction,
 * so a failure half-way leaves the old table untouched.
 */
export async function exportToPostgres(duck: DuckDBConnection, source: string, client: pg.Client, options: PostgresExportOptions): Promise<{ rows: number }> {
  const columns = await describe(duck, source);
  if (columns.length === 0) throw new ExportError('the output has no columns to export');
  const schema = quotePg(options.schema);
  const target = `${schema}.${quotePg(options.table)}`;
  const ddl = (name: string) => `CREATE TABLE ${name} (${columns.map((c) => `${quotePg(c.name)} ${c.pgType}`).join(', ')})`;
  const keys = options.uniqueConstraints ?? [];
  for (const k of keys) {
    if (!columns.some((c) => c.name === k)) throw new ExportError(`unique constraint column "${k}" is not in the output (${columns.map((c) => c.name).join(', ')})`);
  }
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const exists = await tableExists(client, options.schema, options.table);
  if (options.writePolicy === 'fail' && exists) {
    throw new ExportError(`table ${options.schema}.${options.table} already exists (write_policy: fail)`);
  }

  if (options.writePolicy === 'replace' || !exists) {
    // One transaction: the new table is created, filled and swapped in, or nothing happened.
    // Creating and loading a table in the same transaction also lets Postgres skip the WAL
    // (wal_level=minimal, as the embedded server runs) and write the rows frozen.
    const staging = `${options.table.slice(0, 40)}__grimoire_${randomBytes(4).toString('hex')}`;
    const stagingName = `${schema}.${quotePg(staging)}`;
    await client.query('BEGIN');
    try {
      await client.query(ddl(stagingName));
      const rows = await copyInto(duck, source, columns, client, stagingName, { freeze: true, onRows: options.onRows });
      if (exists) await client.query(`DROP TABLE ${target}`);
      await client.query(`ALTER TABLE ${stagingName} RENAME TO ${quotePg(options.table)}`);
      if (keys.length > 0) await client.query(`CREATE UNIQUE INDEX ON ${target} (${keys.map(quotePg).join(', ')})`);
      await client.query('COMMIT');
      return { rows };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  if (keys.length === 0) {
    // append: one COPY is one statement, so it lands whole or not at all.
    return { rows: await copyInto(duck, source, columns, client, target, { onRows: options.onRows }) };
  }

  // upsert: COPY into a temporary table, then one INSERT ... ON CONFLICT in a transaction.
  const temp = quotePg(`grimoire_upsert_${randomBytes(4).toString('hex')}`);
  await client.query('BEGIN');
  try {
    await client.query(`CREATE TEMP TABLE ${temp} (LIKE ${target} INCLUDING DEFAULTS) ON COMMIT DROP`);
    const rows = await copyInto(duck, source, columns, client, temp, { onRows: options.onRows });
    await client.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${quotePg(`${options.table.slice(0, 40)}_grimoire_upsert_key`)} ON ${target} (${keys.map(quotePg).join(', ')})`);
    const names = columns.map((c) => quotePg(c.name));
    const updates = columns.filter((c) => !keys.includes(c.name)).map((c) => `${quotePg(c.name)} = EXCLUDED.${quotePg(c.name)}`);
    await client.query(
      `INSERT INTO ${target} (${names.join(', ')}) SELECT ${names.join(', ')} FROM ${temp} ON CONFLICT (${keys.map(quotePg).join(', ')}) ` +
        (updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'),
    );
    await client.query('COMMIT');
    return { rows };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
