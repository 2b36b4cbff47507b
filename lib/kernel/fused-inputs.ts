import { type DuckDBConnection } from '@duckdb/node-api';
import { countStatements } from './sql-statements';

/** One upstream of a reader whose output is a query (lazyOutput fuse), as the reader's SQL was rendered. */
export interface FusedInput {
  /** What `{{ df_N }}` and `{{ <uuid> }}` rendered to: a bare identifier nothing else uses. */
  marker: string;
  /** The upstream's SQL, parenthesised (OutputStore.queryOf). */
  subquery: string;
  /** The upstream output's quoted name: what the reader reads once the query is a table. */
  table: string;
  /** Makes the upstream's output a table of its rows (OutputStore.materializeQuery). */
  materialize: () => Promise<void>;
}

/**
 * The reader's SQL with each fused upstream in place: its query where the SQL reads it exactly
 * once, else (read twice, or never outside comments and strings) its output made a table first
 * and named, as every other upstream is, so the query never runs more than once. Occurrences inside
 * comments or string literals get the table's name, as without fusing: a multi-line query there
 * would end a `--` comment. Which occurrences are live is asked of DuckDB's parser: breaking a
 * live one changes how the text parses, breaking one in a comment or a string does not.
 */
export async function inlineFusedInputs(connection: DuckDBConnection, rendered: string, inputs: readonly FusedInput[]): Promise<string> {
  let sql = rendered;
  for (const input of inputs) {
    const positions: number[] = [];
    for (let at = sql.indexOf(input.marker); at >= 0; at = sql.indexOf(input.marker, at + input.marker.length)) positions.push(at);
    const whole = await countStatements(connection, sql);
    const live: number[] = [];
    for (const at of positions) {
      const broken = `${sql.slice(0, at)})))${sql.slice(at + input.marker.length)}`;
      // Text that does not parse at all: every occurrence counts as live, and DuckDB reports the error later.
      if (whole < 0 || (await countStatements(connection, broken)) !== whole) live.push(at);
    }
    const inline = live.length === 1 ? live[0] : undefined;
    if (inline === undefined) await input.materialize();
    // From the end, so earlier positions stay valid.
    for (const at of [...positions].reverse()) {
      sql = `${sql.slice(0, at)}${at === inline ? input.subquery : input.table}${sql.slice(at + input.marker.length)}`;
    }
  }
  return sql;
}
