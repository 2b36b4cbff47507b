import path from 'node:path';
import { ensureGreenTaxiFiles, GREEN_TAXI_READ } from '../utils/green_taxi';

/**
 * Loads NYC green taxi trips for the months in `variables.months` (CSV.gz, TLC 2020 schema).
 * Offline stand-in for the download: missing month files are generated once (deterministic seed,
 * the real Q4-2020 row counts), then read by DuckDB with the homework's explicit types.
 */
export default async function load_green_taxi(ctx: BlockContext) {
  const months = Array.isArray(ctx.variables.months) ? ctx.variables.months.map(String) : ['2020-10', '2020-11', '2020-12'];
  // rows_per_month (optional) generates bigger months, e.g. for the benchmark's 5M rows.
  const rowsPerMonth = typeof ctx.variables.rows_per_month === 'number' ? ctx.variables.rows_per_month : undefined;
  const dir = rowsPerMonth === undefined ? path.join(ctx.dataDir, 'raw') : path.join(ctx.dataDir, 'raw', `${rowsPerMonth}-per-month`);
  const files = await ensureGreenTaxiFiles(dir, months, rowsPerMonth);
  ctx.log(`reading ${files.length} file(s): ${files.map((f: string) => path.basename(f)).join(', ')}`);
  return ctx.io.read(files, GREEN_TAXI_READ);
}

export async function testLoadedRows(output: DataFrame) {
  if (output.rowCount === 0) throw new Error('no rows were loaded');
}
