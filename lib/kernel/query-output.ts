import { type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier } from '../pipeline/sql-template';
import { type OutputAnswer, type OutputQuery } from '../protocol/output-query';
import { previewValueConverter } from './duck-values';
import { describe } from './frames';
import { MissingUpstreamError, type OutputStore } from './outputs';
import { OutputQueryError, outputSql } from './output-sql';

const TEMPORAL = /^(DATE|TIMESTAMP.*)$/;

function numberOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Number(v);
  return 0;
}

function formatBound(value: number, temporal: boolean): string {
  if (temporal) return new Date(value * 1000).toISOString().replace('T', ' ').replace(/(\.000)?Z$/, '');
  return Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+$/, '');
}

/**
 * Answers a page or chart question about one block's output in the kernel's DuckDB, on a
 * connection of its own so it never waits on a block's transaction.
 */
export async function queryOutput(connect: () => Promise<DuckDBConnection>, store: OutputStore, block: string, q: OutputQuery): Promise<OutputAnswer> {
  try {
    await store.resolve([block]);
  } catch (e) {
    if (e instanceof MissingUpstreamError) throw new OutputQueryError(`block "${block}" has no output yet: run it first`);
    throw e;
  }
  const connection = await connect();
  try {
    const table = quoteIdentifier(block);
    const { columns, rowCount } = await describe(connection, table);
    const sql = outputSql(table, columns, q);
    const reader = await connection.runAndReadAll(sql.select);
    const rows = reader.convertRowObjects(previewValueConverter);
    if (q.kind === 'page') {
      let matching = rowCount;
      if (sql.count && q.filters.length > 0) {
        const counted = await connection.runAndReadAll(sql.count);
        matching = numberOf(counted.getRowObjectsJS()[0]?.n);
      }
      return { kind: 'page', columns, rows, offset: q.offset, rowCount: matching, totalRowCount: rowCount };
    }
    if (q.chart === 'histogram') {
      const temporal = TEMPORAL.test(columns.find((c) => c.name === q.x)?.type ?? '');
      return {
        kind: 'chart',
        chart: q.chart,
        points: rows.map((r) => ({ label: `${formatBound(numberOf(r.x0), temporal)} – ${formatBound(numberOf(r.x1), temporal)}`, value: numberOf(r.n) })),
      };
    }
    return { kind: 'chart', chart: q.chart, points: rows.map((r) => ({ label: r.label === null ? '(null)' : String(r.label), value: numberOf(r.value) })) };
  } finally {
    connection.closeSync();
  }
}
