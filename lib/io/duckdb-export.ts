import { type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';

export const DUCKDB_WRITE_POLICIES = ['replace', 'append', 'fail'] as const;

export interface DuckDbExportOptions {
  /** The attached database (a profile's DUCKDB_DATABASE, by its alias). */
  database: string;
  schema: string;
  table: string;
  writePolicy: (typeof DUCKDB_WRITE_POLICIES)[number];
}

export class DuckDbExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DuckDbExportError';
  }
}

function count(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : 0;
}

/**
 * Writes a table or query into a table of an attached DuckDB database, in one statement each:
 * replace swaps the table whole (CREATE OR REPLACE), append adds rows by column name (creating
 * the table the first time), fail refuses a table that exists. A failure leaves the old table.
 */
export async function exportToDuckDb(connection: DuckDBConnection, source: string, options: DuckDbExportOptions): Promise<{ rows: number }> {
  const schema = `${quoteIdentifier(options.database)}.${quoteIdentifier(options.schema)}`;
  const target = `${schema}.${quoteIdentifier(options.table)}`;
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const existing = await connection.runAndReadAll(
    `SELECT 1 FROM duckdb_tables() WHERE database_name = ${quoteLiteral(options.database)} AND schema_name = ${quoteLiteral(options.schema)} AND table_name = ${quoteLiteral(options.table)}`,
  );
  const exists = existing.currentRowCount > 0;
  if (exists && options.writePolicy === 'fail') {
    throw new DuckDbExportError(`table ${options.database}.${options.schema}.${options.table} already exists (write_policy: fail)`);
  }
  const statement =
    exists && options.writePolicy === 'append'
      ? `INSERT INTO ${target} BY NAME SELECT * FROM ${source}`
      : `CREATE OR REPLACE TABLE ${target} AS SELECT * FROM ${source}`;
  const result = await connection.runAndReadAll(statement);
  return { rows: count(result.getRowsJS()[0]?.[0]) };
}
