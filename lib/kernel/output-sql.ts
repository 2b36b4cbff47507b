/**
 * SQL for paging, sorting, filtering and charting a block output. Pure: column names are checked
 * against the output's real columns and quoted, values are literals, so nothing the browser sends
 * ever becomes SQL grammar.
 */
import { quoteIdentifier, quoteLiteral } from '../sql-quote';
import { type OutputFilter, type OutputQuery } from '../protocol/output-query';

export interface OutputColumn {
  name: string;
  type: string;
}

export class OutputQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputQueryError';
  }
}

/** DuckDB type names as DuckDB reports them; anything else is compared as text. */
const SAFE_TYPE = /^[A-Z][A-Z0-9_]*(\(\d+(, ?\d+)?\))?( WITH TIME ZONE)?$/;

function columnOf(columns: readonly OutputColumn[], name: string): OutputColumn {
  const c = columns.find((col) => col.name === name);
  if (!c) throw new OutputQueryError(`the output has no column "${name}" (columns: ${columns.map((x) => x.name).join(', ')})`);
  return c;
}

function typedValue(column: OutputColumn, value: string): string {
  return SAFE_TYPE.test(column.type) ? `TRY_CAST(${quoteLiteral(value)} AS ${column.type})` : quoteLiteral(value);
}

function condition(columns: readonly OutputColumn[], f: OutputFilter): string {
  const c = columnOf(columns, f.column);
  const id = quoteIdentifier(c.name);
  switch (f.op) {
    case 'contains':
      return `CAST(${id} AS VARCHAR) ILIKE ${quoteLiteral(`%${f.value.replace(/[\\%_]/g, (m) => `\\${m}`)}%`)} ESCAPE '\\'`;
    case 'equals':
      return `${id} = ${typedValue(c, f.value)}`;
    case 'not_equals':
      return `${id} IS DISTINCT FROM ${typedValue(c, f.value)}`;
    case 'gt':
      return `${id} > ${typedValue(c, f.value)}`;
    case 'gte':
      return `${id} >= ${typedValue(c, f.value)}`;
    case 'lt':
      return `${id} < ${typedValue(c, f.value)}`;
    case 'lte':
      return `${id} <= ${typedValue(c, f.value)}`;
    case 'is_null':
      return `${id} IS NULL`;
    case 'not_null':
      return `${id} IS NOT NULL`;
    default: {
      const never: never = f.op;
      throw new OutputQueryError(`unknown filter ${String(never)}`);
    }
  }
}

export function whereClause(columns: readonly OutputColumn[], filters: readonly OutputFilter[]): string {
  if (filters.length === 0) return '';
  return ` WHERE ${filters.map((f) => `(${condition(columns, f)})`).join(' AND ')}`;
}

export interface OutputSql {
  /** The rows (page) or the chart points. */
  select: string;
  /** For a page: rows passing the filters. */
  count?: string;
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/;
const TEMPORAL = /^(DATE|TIMESTAMP.*|TIME.*)$/;

/** SQL that answers one output query against `table` (already quoted). */
export function outputSql(table: string, columns: readonly OutputColumn[], q: OutputQuery): OutputSql {
  const where = whereClause(columns, q.filters);
  if (q.kind === 'page') {
    // Sorting keeps a stable order within ties by the row's position in the output.
    const order = q.sort
      ? ` ORDER BY ${quoteIdentifier(columnOf(columns, q.sort.column).name)} ${q.sort.direction === 'asc' ? 'ASC' : 'DESC'} NULLS LAST`
      : '';
    return {
      select: `SELECT * FROM ${table}${where}${order} LIMIT ${q.limit} OFFSET ${q.offset}`,
      count: `SELECT count(*)::BIGINT AS n FROM ${table}${where}`,
    };
  }
  const x = columnOf(columns, q.x);
  const xid = quoteIdentifier(x.name);
  const y = q.y === undefined ? undefined : columnOf(columns, q.y);
  if (y && !NUMERIC.test(y.type)) throw new OutputQueryError(`column "${y.name}" is ${y.type}, not a number: it cannot be summed or averaged`);
  switch (q.chart) {
    case 'histogram': {
      if (!NUMERIC.test(x.type) && !TEMPORAL.test(x.type)) {
        throw new OutputQueryError(`a histogram needs a numeric or date column; "${x.name}" is ${x.type}`);
      }
      const v = TEMPORAL.test(x.type) ? `epoch(${xid})` : `CAST(${xid} AS DOUBLE)`;
      const filtered = `${where ? `${where} AND` : ' WHERE'} ${xid} IS NOT NULL`;
      return {
        select:
          `WITH b AS (SELECT min(${v}) AS lo, max(${v}) AS hi FROM ${table}${filtered}), ` +
          `w AS (SELECT lo, CASE WHEN hi > lo THEN (hi - lo) / ${q.bins} ELSE 1 END AS width FROM b), ` +
          `k AS (SELECT least(CAST(floor((${v} - w.lo) / w.width) AS BIGINT), ${q.bins - 1}) AS bin FROM ${table}, w${filtered}) ` +
          `SELECT w.lo + k.bin * w.width AS x0, w.lo + (k.bin + 1) * w.width AS x1, count(*)::BIGINT AS n FROM k, w GROUP BY k.bin, w.lo, w.width ORDER BY k.bin`,
      };
    }
    case 'bar': {
      const value = y ? `sum(${quoteIdentifier(y.name)})::DOUBLE` : 'count(*)::DOUBLE';
      return { select: `SELECT CAST(${xid} AS VARCHAR) AS label, ${value} AS value FROM ${table}${where} GROUP BY 1 ORDER BY 2 DESC NULLS LAST LIMIT 50` };
    }
    case 'line': {
      if (!y) throw new OutputQueryError('a line chart needs a y column');
      return {
        select: `SELECT CAST(${xid} AS VARCHAR) AS label, avg(${quoteIdentifier(y.name)})::DOUBLE AS value FROM ${table}${where} GROUP BY ${xid} ORDER BY ${xid} LIMIT 2000`,
      };
    }
    default: {
      const never: never = q.chart;
      throw new OutputQueryError(`unknown chart ${String(never)}`);
    }
  }
}
