import { type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier } from '../sql-quote';
import { type OutputAnswer, type OutputQuery } from '../protocol/output-query';
import { previewValueConverter } from './duck-values';
import { describe } from './frames';
import { type BlockOutcome } from './ipc';
import { MissingUpstreamError, type OutputStore } from './outputs';
import { type OutputColumn, OutputQueryError, outputSql } from './output-sql';

export interface OutputDescription {
  columns: OutputColumn[];
  rowCount: number;
}

/**
 * The columns and row count of each block's output as the run that made it found them (its
 * preview carries them), so paging it needs no DESCRIBE and count(*) again. A block that starts
 * forgets its description: its table is about to be replaced. Only a run that completes with no
 * other run of the same block still going leaves one; any other end leaves the next page to describe.
 */
export class OutputDescriptions {
  private readonly known = new Map<string, OutputDescription>();
  private readonly running = new Map<string, number>();

  get(block: string): OutputDescription | undefined {
    return this.known.get(block);
  }

  /** Runs one execution of `block`, keeping what its completion says about the output. */
  async track(block: string, execute: () => Promise<BlockOutcome>): Promise<BlockOutcome> {
    this.known.delete(block);
    this.running.set(block, (this.running.get(block) ?? 0) + 1);
    let outcome: BlockOutcome | null = null;
    try {
      outcome = await execute();
      return outcome;
    } finally {
      const left = (this.running.get(block) ?? 1) - 1;
      if (left > 0) this.running.set(block, left);
      else this.running.delete(block);
      if (left === 0 && outcome?.status === 'completed' && outcome.preview) this.known.set(block, { columns: outcome.preview.columns, rowCount: outcome.preview.rowCount });
      else this.known.delete(block);
    }
  }
}

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
export async function queryOutput(connect: () => Promise<DuckDBConnection>, store: OutputStore, block: string, q: OutputQuery, descriptions?: OutputDescriptions): Promise<OutputAnswer> {
  try {
    await store.resolve([block]);
  } catch (e) {
    if (e instanceof MissingUpstreamError) throw new OutputQueryError(`block "${block}" has no output yet: run it first`);
    throw e;
  }
  const connection = await connect();
  try {
    const table = quoteIdentifier(block);
    // An output read back from Parquet (after a restart) was never described here: describe it.
    const { columns, rowCount } = descriptions?.get(block) ?? (await describe(connection, table));
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
