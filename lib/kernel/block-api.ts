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

/**
 * Row shapes of block outputs, by block uuid, so `DataFrame<'trips'>` types `rows()` as the
 * `trips` block's output. The editor fills this in from each block's last output; elsewhere
 * (or for a block it has not seen run) a row is a plain record.
 */
export interface BlockRows {
  [block: string]: Record<string, unknown>;
}

/** The row type of `DataFrame<Of>`: a block uuid's output rows, a row type given as is, or plain records. */
export type RowOf<Of> = Of extends string ? BlockRows[Of] : Of extends Record<string, unknown> ? Of : Record<string, unknown>;

/**
 * A table held by the kernel in DuckDB. Reading it into JS objects is explicit (`rows()`).
 * `DataFrame<'load_trips'>` (an upstream's uuid) types its rows as that block's output.
 */
export interface DataFrame<Of = unknown> {
  /** The quoted table name, so `${df}` inside SQL text names this frame. */
  readonly table: string;
  readonly columns: readonly Column[];
  readonly rowCount: number;
  /** Rows as plain objects (integers as numbers, timestamps as Date). Optional limit and offset. */
  rows(options?: { limit?: number; offset?: number }): Promise<RowOf<Of>[]>;
  /** Runs SQL against the kernel's DuckDB (write `${df}` to name this frame) and returns the result. */
  query(sql: string | Query): Promise<DataFrame>;
  toString(): string;
}

export interface BlockContext {
  /** Global pipeline variables overridden by runtime variables. */
  readonly variables: Readonly<Record<string, JsonValue>>;
  readonly executionDate: Date;
  readonly blockUuid: string;
  /** The block run: the block's uuid, or `<uuid>:<key>` for a child of a dynamic block. */
  readonly blockRunName: string;
  /** The pipeline run this block run belongs to. */
  readonly runId: string;
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
  /** Files, URLs, Postgres, DuckDB database files and the Parquet lake (profiles from io_config.yaml). */
  readonly io: BlockIo;
  /** The workspace's secrets, set by an owner in Settings or with `grimoire secrets set NAME`. */
  readonly secrets: BlockSecrets;
  /** Runs of the project's pipelines: start one (Mage's trigger-pipeline block), or check one (check_status). */
  readonly runs: BlockRuns;
  /** In a callback: how the block run ended (`completed`, `failed`, `cancelled`). */
  readonly status?: string;
  /** In a callback's onFailure and onCancelled: why the block run ended. */
  readonly error?: BlockRunError;
}

/** `ctx.runs`: the project's pipeline runs, as far as a block may see and start them. */
export interface BlockRuns {
  /**
   * Starts a run of pipeline `pipeline` of this project with these runtime variables (its
   * execution date is this run's unless given). With `wait: true` it resolves when that run
   * ends and rejects (naming the run and its failed blocks) unless it completed.
   */
  trigger(pipeline: string, options?: { variables?: Record<string, JsonValue>; wait?: boolean; executionDate?: Date }): Promise<PipelineRunInfo>;
  /**
   * Mage's check_status: whether pipeline `pipeline` (or only its block `block`) has a run for
   * `executionDate` (default this run's) that completed within the last `hours` (default 24).
   */
  completed(pipeline: string, options?: { block?: string; executionDate?: Date; hours?: number }): Promise<boolean>;
}

/** A pipeline run as ctx.runs tells it. */
export interface PipelineRunInfo {
  readonly id: string;
  readonly pipeline: string;
  /** initial, running, completed, failed or cancelled. */
  readonly status: string;
  /** ISO time. */
  readonly executionDate: string;
}

/** Why a block run failed, as a callback sees it. */
export interface BlockRunError {
  /** exception, sql, template, test, missing_upstream, kernel_died, interrupted, invalid_block, destination. */
  readonly kind: string;
  readonly message: string;
  /** Project-relative file and 1-based line, when the error points into a file. */
  readonly file?: string;
  readonly line?: number;
}

/** `ctx.secrets`: workspace secrets by name. Their values are shown as *** in logs, previews and errors. */
export interface BlockSecrets {
  /** The value of secret `name`; throws an error naming it when no such secret is set. */
  get(name: string): string;
}

export interface ReadOptions {
  /** Inferred from the extension when absent (.csv, .csv.gz, .parquet, .json, .ndjson, .jsonl). */
  format?: 'csv' | 'parquet' | 'json';
  /** Explicit column types, e.g. { VendorID: 'BIGINT', lpep_pickup_datetime: 'TIMESTAMP' }. */
  columns?: Record<string, string>;
  dateFormat?: string;
  timestampFormat?: string;
  header?: boolean;
  delimiter?: string;
  /** io_config.yaml profile whose AWS_* keys read `s3://` sources; `default` when absent. */
  profile?: string;
  /**
   * SQL over hive partition columns (`"pickup_date >= '2020-10-15'"`): objects of partitions it
   * rules out are never downloaded, and the rows read are filtered by it.
   */
  where?: string;
}

export interface PostgresExport {
  /** Defaults to the profile's POSTGRES_SCHEMA. */
  schema?: string;
  table: string;
  /** replace (atomic), append or fail; replace by default. */
  writePolicy?: 'replace' | 'append' | 'fail';
  /** Upsert on these key columns. */
  uniqueConstraints?: string[];
}

export interface ParquetExport {
  /** Folder for a partitioned lake, relative to the project, or `s3://bucket/prefix`. */
  path: string;
  /** io_config.yaml profile whose AWS_* keys write an `s3://` lake; `default` when absent. */
  profile?: string;
  partitionBy?: string[];
  compression?: 'snappy' | 'zstd' | 'gzip' | 'uncompressed';
  writePolicy?: 'replace' | 'append' | 'fail';
}

export interface DuckDbExport {
  /** Schema in the database file; main by default. */
  schema?: string;
  table: string;
  /** replace (the table swapped whole), append (by column name) or fail; replace by default. */
  writePolicy?: 'replace' | 'append' | 'fail';
}

export interface DuckDbIo {
  /**
   * Runs SQL with the profile's DUCKDB_DATABASE attached under its file name (data/warehouse.duckdb
   * as `warehouse`): its tables are read by name. The result comes back as a DataFrame.
   */
  query(sql: string): Promise<DataFrame>;
  /** Writes a frame or query into a table of the profile's DUCKDB_DATABASE file. */
  export(data: DataFrame | Query, options: DuckDbExport): Promise<{ rows: number }>;
}

export interface PostgresIo {
  /** Runs the query in Postgres and streams its result into DuckDB (COPY, never row by row). */
  query(sql: string): Promise<DataFrame>;
  /** Streams a frame or query into a Postgres table (COPY FROM STDIN). */
  export(data: DataFrame | Query, options: PostgresExport): Promise<{ rows: number }>;
}

export interface BlockIo {
  /**
   * Local files or globs (relative to the project), HTTP(S) URLs (streamed to disk first) and
   * objects `s3://bucket/prefix/**\/*.parquet` (globs allowed; downloads cached by ETag).
   */
  read(source: string | readonly string[], options?: ReadOptions): Promise<Query>;
  postgres(profile?: string): PostgresIo;
  /** The DuckDB database file a profile names (DUCKDB_DATABASE). */
  duckdb(profile?: string): DuckDbIo;
  parquet: { export(data: DataFrame | Query, options: ParquetExport): Promise<{ rows: number; files: number }> };
  /**
   * A query over a local Parquet lake folder written by an export (partitions become columns). For
   * a lake in a bucket use `await ctx.io.read('s3://bucket/prefix/**\/*.parquet')`.
   */
  lake(path: string): Query;
}

/** `ctx.sql`: a tagged template for queries, plus `unsafe` for SQL text built by the block itself. */
export interface SqlTag {
  (strings: TemplateStringsArray, ...values: unknown[]): Query;
  /** Wraps SQL text as is (no quoting): only for text the block built from trusted parts. */
  unsafe(sql: string): Query;
}

/** What a block may return: rows, a DataFrame, a query, or nothing (e.g. an exporter). */
export type BlockResult = readonly Record<string, unknown>[] | DataFrame | Query | undefined | null | void;
