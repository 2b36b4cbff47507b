/**
 * The API a TypeScript block sees. These declarations are public: blocks are written against them
 * (and the editor offers them as intellisense), so names here never change meaning.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Column {
  name: string;
  /** DuckDB type name, e.g. BIGINT, DOUBLE, VARCHAR, TIMESTAMP. */
  type: string;
}

/** A lazy SQL query: nothing runs until it is returned from a block or passed to `ctx.query`. */
export interface Query {
  readonly sql: string;
}

/** A table held by the kernel in DuckDB. Reading it into JS objects is explicit (`rows()`). */
export interface DataFrame {
  /** The quoted table name, so `${df}` inside SQL text names this frame. */
  readonly table: string;
  readonly columns: readonly Column[];
  readonly rowCount: number;
  /** Rows as plain objects (integers as numbers, timestamps as Date). Optional limit and offset. */
  rows(options?: { limit?: number; offset?: number }): Promise<Record<string, unknown>[]>;
  /** Runs SQL against the kernel's DuckDB (write `${df}` to name this frame) and returns the result. */
  query(sql: string | Query): Promise<DataFrame>;
  toString(): string;
}

export interface BlockContext {
  /** Global pipeline variables overridden by runtime variables. */
  readonly variables: Readonly<Record<string, JsonValue>>;
  readonly executionDate: Date;
  readonly blockUuid: string;
  readonly pipelineUuid: string;
  /** Absolute path of the project folder (also the kernel's working directory). */
  readonly projectDir: string;
  /** Absolute path of the project's git-ignored data directory. */
  readonly dataDir: string;
  log(...args: unknown[]): void;
  /**
   * Builds a query from a template: DataFrames become their table names, queries become
   * subqueries, other values become SQL literals. `ctx.sql\`select * from ${trips} where fare > ${min}\``
   */
  readonly sql: SqlTag;
  /** Runs SQL (text or a Query) now; the result of the last statement comes back as a DataFrame. */
  query(sql: string | Query): Promise<DataFrame>;
  /** Loads plain objects into DuckDB as a DataFrame. */
  fromRows(rows: readonly Record<string, unknown>[]): Promise<DataFrame>;
}

/** `ctx.sql`: a tagged template for queries, plus `unsafe` for SQL text built by the block itself. */
export interface SqlTag {
  (strings: TemplateStringsArray, ...values: unknown[]): Query;
  /** Wraps SQL text as is (no quoting): only for text the block built from trusted parts. */
  unsafe(sql: string): Query;
}

/** What a block may return: rows, a DataFrame, a query, or nothing (e.g. an exporter). */
export type BlockResult = readonly Record<string, unknown>[] | DataFrame | Query | undefined | null | void;
