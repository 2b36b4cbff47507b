import path from 'node:path';
import { ensureGreenTaxiFiles, GREEN_TAXI_READ } from '../utils/green_taxi';

/**
 * One month's NYC green taxi trips (this child's item), from the same offline files as
 * green_taxi_etl (generated once, with the real row counts), with the month beside each trip.
 */
export default async function load_green_taxi_month(item: DataFrame<'list_green_taxi_months'>, ctx: BlockContext) {
  const [row] = await item.rows();
  const month = String(row?.month);
  const [file] = await ensureGreenTaxiFiles(path.join(ctx.dataDir, 'raw'), [month]);
  if (!file) throw new Error(`no file for ${month}`);
  ctx.log(`reading ${path.basename(file)}`);
  const trips = await ctx.io.read(file, GREEN_TAXI_READ);
  return ctx.sql`SELECT ${month} AS month, * FROM ${trips}`;
}

export async function testOneMonth(output: DataFrame) {
  const [row] = await (await output.query(`SELECT count(DISTINCT month) AS months FROM ${output}`)).rows();
  if (output.rowCount === 0 || row?.months !== 1) throw new Error('expected the trips of one month');
}
