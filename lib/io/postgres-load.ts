import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { CsvRecordCounter } from './csv-records';
import { duckTypeForPg } from './pg-types';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';

function stripSemicolons(sql: string): string {
  return sql.trim().replace(/;+\s*$/, '');
}



/**
 * Runs a query in Postgres and lands its result in DuckDB as `target`: COPY (query) TO STDOUT
 * streams CSV to a scratch file that DuckDB reads with the column types Postgres reported,
 * never row by row through JS.
 */
export async function loadPostgresQuery(
  client: pg.Client,
  sql: string,
  duck: DuckDBConnection,
  target: string,
  temporary: boolean,
  /** Called as rows arrive from Postgres, with the exact count so far. */
  onRows?: (rows: number) => void,
): Promise<void> {
  const query = stripSemicolons(sql);
  const shape = await client.query({ text: `SELECT * FROM (${query}) AS grimoire_q LIMIT 0` });
  if (shape.fields.length === 0) throw new Error('the Postgres query returns no columns');
  const typeNames = await client.query<{ t: string }>(
    'SELECT format_type(oid, mod) AS t FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS f(oid, mod, i) ORDER BY i',
    [shape.fields.map((f) => f.dataTypeID), shape.fields.map((f) => f.dataTypeModifier)],
  );
  const columns = shape.fields.map((f, i) => `${quoteLiteral(f.name)}: ${quoteLiteral(duckTypeForPg(typeNames.rows[i]?.t ?? 'text'))}`);
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
    await pipeline(client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT csv)`)), count, createWriteStream(file));
    await duck.run(
      `CREATE ${temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(target)} AS SELECT * FROM read_csv(${quoteLiteral(file)}, header = false, auto_detect = false, ` +
        `quote = '"', escape = '"', delim = ',', allow_quoted_nulls = false, columns = {${columns.join(', ')}})`,
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
