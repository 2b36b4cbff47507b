import { type DuckDBConnection } from '@duckdb/node-api';
import { countStatements } from './sql-statements';

/** One upstream of a reader whose output is a query left as a view for it (lazyOutput fuse). */
export interface FusedInput {
  /** What `{{ df_N }}` and `{{ <uuid> }}` rendered to: a bare identifier nothing else uses. */
  marker: string;
  /** The upstream output's name, unquoted: a bare mention of it reads the view too. */
  name: string;
  /** The upstream output's quoted name: what every mention becomes. */
  table: string;
  /** Makes the upstream's output a table of its rows (OutputStore.materializeQueries). */
  materialize: () => Promise<void>;
}

/**
 * The reader's SQL with every mention of a fused upstream naming its output, as without fusing.
 * The upstream stays a view, run by this SQL, only where that runs its query once: one query
 * reading it exactly once (a mention inside a comment or a string reads nothing) and never by its
 * bare name. Otherwise (read twice, by a temp view of a script, written to, or not at all) it is made a table
 * first, so its query runs once whatever this SQL does. Which mentions are live is asked of
 * DuckDB's parser: breaking a live one changes how the text parses, breaking one in a comment or
 * a string does not.
 */
export async function placeFusedInputs(connection: DuckDBConnection, rendered: string, inputs: readonly FusedInput[]): Promise<string> {
  const statements = await countStatements(connection, rendered);
  // A query, not a statement that writes (INSERT INTO {{ df_1 }} would write into the view).
  const query = statements === 1 && (await countStatements(connection, `SELECT * FROM (\n${rendered.trim().replace(/;\s*$/, '')}\n) AS q`)) === 1;
  let sql = rendered;
  for (const input of inputs) {
    const positions: number[] = [];
    for (let at = sql.indexOf(input.marker); at >= 0; at = sql.indexOf(input.marker, at + input.marker.length)) positions.push(at);
    let live = 0;
    for (const at of positions) {
      const broken = `${sql.slice(0, at)})))${sql.slice(at + input.marker.length)}`;
      // Text that does not parse at all: every mention counts as live, and DuckDB reports the error later.
      if (statements < 0 || (await countStatements(connection, broken)) !== statements) live += 1;
    }
    const named = sql.split(input.marker).join(input.table);
    const bare = new RegExp(`\\b${input.name.replace(/[^A-Za-z0-9_]/g, '')}\\b`, 'i').test(sql.split(input.marker).join(''));
    if (live !== 1 || !query || bare) await input.materialize();
    sql = named;
  }
  return sql;
}
