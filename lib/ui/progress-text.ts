import { formatCount } from '../intl-format';
import { type BlockProgress } from '../protocol/run-events';

const count = formatCount;

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`;
}

const WHERE: Record<BlockProgress['phase'], string> = {
  download: 'downloaded',
  query: 'of the query',
  output: 'in the output',
  postgres_load: 'from Postgres',
  postgres_export: '→ Postgres',
  parquet_export: '→ Parquet',
  sensor_wait: 'waiting',
};

/**
 * The line a running block shows beside its elapsed time. Exact row counts come first; DuckDB's
 * percentage only when no count is known, so a number shown as rows is always real rows.
 */
export function progressText(p: BlockProgress): string {
  const where = WHERE[p.phase];
  // A sensor between pokes: Mage's "waiting", with how many pokes so far and when the next comes.
  if (p.phase === 'sensor_wait') return `waiting (poke ${p.poke ?? 1}, next in ${Math.round((p.nextInMs ?? 0) / 1000)}s)`;
  if (p.rows !== undefined) {
    const of = p.total !== undefined ? ` of ${count(p.total)}` : '';
    return `${count(p.rows)}${of} ${p.total === 1 || (p.total === undefined && p.rows === 1) ? 'row' : 'rows'} ${where}`;
  }
  if (p.bytes !== undefined) return `${megabytes(p.bytes)} ${where}`;
  if (p.percent !== undefined) {
    const of = p.total !== undefined ? ` of ${count(p.total)} rows` : '';
    return `${p.percent.toFixed(0)}%${of} ${where}`;
  }
  return p.total !== undefined ? `${count(p.total)} rows ${where}` : where;
}
