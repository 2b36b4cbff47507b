import { DuckDBConnection, type DuckDBResultReader, StatementType } from '@duckdb/node-api';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';
import { type Column, type DataFrame, type Query, type SqlTag } from './block-api';
import { duckTypeName } from '../duck-type-name';
import { createTableFromRows, EMPTY_COLUMN, rowValueConverter } from './duck-values';
import { splitStatements, type SqlStatement } from './sql-statements';

export class SqlQuery implements Query {
  constructor(readonly sql: string) {}
  toString(): string {
    return `(${this.sql})`;
  }
}

/** An error raised by DuckDB while running one statement of a block, with the statement's line offset. */
export class SqlStatementError extends Error {
  constructor(
    message: string,
    readonly statement: SqlStatement,
  ) {
    super(message);
    this.name = 'SqlStatementError';
  }
}

/** The row count a CREATE TABLE ... AS reports (DuckDB answers it as a `Count` column), or null. */
export function reportedCount(reader: DuckDBResultReader): number | null {
  if (reader.columnNames()[0] !== 'Count') return null;
  const n = reader.getRowsJS()[0]?.[0];
  return typeof n === 'bigint' ? Number(n) : typeof n === 'number' ? n : null;
}

/**
 * A table's columns, row count and first `rows` rows in one statement (plus a count when
 * `knownRowCount` is null): a block's output is described once, with its preview. The first rows
 * come back as a DuckDB result for the caller to convert.
 */
export async function describeWithHead(
  connection: DuckDBConnection,
  table: string,
  rows: number,
  knownRowCount: number | null,
): Promise<{ columns: Column[]; rowCount: number; head: DuckDBResultReader }> {
  const head = await connection.runAndReadAll(`SELECT * FROM ${table} LIMIT ${Math.max(0, Math.floor(rows))}`);
  const names = head.columnNames();
  const types = head.columnTypes();
  let rowCount = knownRowCount;
  if (rowCount === null) {
    const count = await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${table}`);
    const n = count.getRowObjectsJS()[0]?.n;
    rowCount = typeof n === 'bigint' ? Number(n) : 0;
  }
  return { columns: names.map((name, i) => ({ name, type: duckTypeName(types[i], 'UNKNOWN') })).filter((c) => c.name !== EMPTY_COLUMN), rowCount, head };
}

export async function describe(connection: DuckDBConnection, table: string): Promise<{ columns: Column[]; rowCount: number }> {
  const head = await connection.runAndReadUntil(`SELECT * FROM ${table} LIMIT 0`, 0);
  const names = head.columnNames();
  const types = head.columnTypes();
  const count = await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${table}`);
  const n = count.getRowObjectsJS()[0]?.n;
  return {
    columns: names.map((name, i) => ({ name, type: duckTypeName(types[i], 'UNKNOWN') })).filter((c) => c.name !== EMPTY_COLUMN),
    rowCount: typeof n === 'bigint' ? Number(n) : 0,
  };
}

export class Frame implements DataFrame {
  constructor(
    readonly table: string,
    readonly columns: readonly Column[],
    readonly rowCount: number,
    private readonly session: QuerySession,
  ) {}

  static async open(session: QuerySession, table: string): Promise<Frame> {
    const { columns, rowCount } = await describe(session.connection, table);
    return new Frame(table, columns, rowCount, session);
  }

  async rows(options: { limit?: number; offset?: number } = {}): Promise<Record<string, unknown>[]> {
    const limit = options.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(options.limit))}`;
    const offset = options.offset === undefined ? '' : ` OFFSET ${Math.max(0, Math.floor(options.offset))}`;
    for (const c of this.columns) if (!this.session.rowTypes.has(c.name)) this.session.rowTypes.set(c.name, c.type);
    const reader = await this.session.connection.runAndReadAll(`SELECT * FROM ${this.table}${limit}${offset}`);
    return reader.convertRowObjects(rowValueConverter);
  }

  query(sql: string | Query): Promise<DataFrame> {
    return this.session.query(sql);
  }

  toString(): string {
    return this.table;
  }
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Frame) return value.table;
  if (value instanceof SqlQuery) return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot put ${value} into SQL`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value instanceof Date) return `TIMESTAMP '${value.toISOString().replace('T', ' ').replace('Z', '')}'`;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return quoteLiteral(text);
}

/** `ctx.sql` — a tagged template that keeps values out of the SQL grammar. */
export const sqlTemplate: SqlTag = Object.assign(
  (strings: TemplateStringsArray, ...values: unknown[]): SqlQuery => {
    let text = strings[0] ?? '';
    values.forEach((v, i) => {
      text += literal(v) + (strings[i + 1] ?? '');
    });
    return new SqlQuery(text);
  },
  { unsafe: (sql: string) => new SqlQuery(String(sql)) },
);

/**
 * One block's DuckDB connection. Results of `ctx.query` are temporary tables of this connection, so
 * concurrent blocks never see each other's scratch results and everything is dropped when it closes.
 */
/**
 * DuckDB quotes the statement in its errors ("LINE 1: CREATE TABLE ... AS SELECT ..."): show the
 * user's statement, not our CREATE around it, with the caret moved back to match.
 */
function withoutPrefix(message: string, prefix: string): string {
  const lines = message.split('\n');
  const at = lines.findIndex((l) => l.includes(prefix));
  const line = lines[at];
  if (line === undefined) return message;
  lines[at] = line.replace(prefix, '');
  const caret = lines[at + 1];
  if (caret !== undefined && /^\s*\^\s*$/.test(caret)) lines[at + 1] = caret.slice(Math.min(prefix.length, caret.indexOf('^')));
  return lines.join('\n');
}

export class QuerySession {
  private counter = 0;
  /**
   * Whether anything but our own CREATE TABLE ... AS of one query ran on the connection (a block's
   * extra statements, temp tables, an attached database): such a connection is closed, never
   * handed to another block.
   */
  private changed = false;
  /**
   * Column types of every frame whose rows() the block read, by column name: rows it hands back
   * (returned, or through fromRows) keep these types where their values still fit.
   */
  readonly rowTypes = new Map<string, string>();
  constructor(readonly connection: DuckDBConnection) {}

  /** The connection is as it was opened, apart from the block's output table: another block may use it. */
  get reusable(): boolean {
    return !this.changed;
  }

  /** Something outside this session's knowledge used the connection (TypeScript blocks, other databases). */
  markChanged(): void {
    this.changed = true;
  }

  nextTempName(): string {
    this.counter += 1;
    return `__q${this.counter}`;
  }

  /**
   * Runs every statement of a block's SQL; the last one's result becomes table `target` (a CREATE
   * TABLE AS for a query, so the rows never leave DuckDB; statements that return nothing leave an
   * empty result). Resolves with the table's row count when DuckDB reported it, else null.
   */
  async materialize(sql: string, target: string, temporary: boolean): Promise<number | null> {
    const statements = await splitStatements(this.connection, sql);
    const last = statements.pop();
    // Statements before the last may change the connection (SET, USE, temp objects): not reused then.
    if (statements.length > 0 || temporary) this.changed = true;
    for (const s of statements) await this.runStatement(s);
    const create = `CREATE ${temporary ? 'TEMP ' : ''}TABLE ${quoteIdentifier(target)} AS `;
    if (!last) {
      await createTableFromRows(this.connection, target, [], temporary);
      return 0;
    }
    // Most blocks end in a query: try it as CREATE TABLE ... AS straight away. Asking DuckDB for the
    // statement's type first means preparing, i.e. binding it, and binding read_csv sniffs the
    // files (~150 ms for three CSV.gz) only for the CREATE to bind them again. Only a statement
    // that cannot follow AS (COPY, INSERT, ...) fails to parse there; those take the path below.
    try {
      return reportedCount(await this.connection.runAndReadAll(create + last.text.replace(/;\s*$/, '')));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!message.startsWith('Parser Error')) throw new SqlStatementError(withoutPrefix(message, create), last);
    }
    this.changed = true;
    let kind: StatementType | undefined;
    try {
      kind = (await this.connection.prepare(last.text)).statementType;
    } catch (e) {
      throw new SqlStatementError(e instanceof Error ? e.message : String(e), last);
    }
    if (kind === StatementType.SELECT) {
      await this.runStatement({ ...last, text: create + last.text.replace(/;\s*$/, '') }, last);
      return null;
    }
    // COPY, INSERT, CREATE ...: run it, and keep what it reports (e.g. the row count) as the output.
    let rows: Record<string, unknown>[] = [];
    try {
      const reader = await this.connection.runAndReadAll(last.text);
      rows = reader.convertRowObjects(rowValueConverter);
    } catch (e) {
      throw new SqlStatementError(e instanceof Error ? e.message : String(e), last);
    }
    await createTableFromRows(this.connection, target, rows, temporary);
    return rows.length;
  }

  /**
   * Makes `target` a view of the block's SQL when it is one query (a pass-through, lazyOutput):
   * resolves false, creating nothing, for anything else (several statements, COPY, INSERT, ...),
   * which the caller then materialises. Throws SqlStatementError as materialize does.
   */
  async createView(sql: string, target: string): Promise<boolean> {
    const statements = await splitStatements(this.connection, sql);
    const only = statements.length === 1 ? statements[0] : undefined;
    if (!only) return false;
    const create = `CREATE VIEW ${quoteIdentifier(target)} AS `;
    try {
      await this.connection.run(create + only.text.replace(/;\s*$/, ''));
      return true;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (message.startsWith('Parser Error')) return false;
      throw new SqlStatementError(withoutPrefix(message, create), only);
    }
  }

  private async runStatement(s: SqlStatement, reportAs: SqlStatement = s): Promise<void> {
    try {
      await this.connection.run(s.text);
    } catch (e) {
      throw new SqlStatementError(e instanceof Error ? e.message : String(e), reportAs);
    }
  }

  async query(sql: string | Query): Promise<DataFrame> {
    const text = typeof sql === 'string' ? sql : sql.sql;
    const name = this.nextTempName();
    await this.materialize(text, name, true);
    return Frame.open(this, quoteIdentifier(name));
  }

  async fromRows(rows: readonly Record<string, unknown>[]): Promise<DataFrame> {
    if (!Array.isArray(rows)) throw new Error('fromRows takes an array of objects');
    const name = this.nextTempName();
    await createTableFromRows(this.connection, name, rows, true, this.rowTypes);
    return Frame.open(this, quoteIdentifier(name));
  }
}
