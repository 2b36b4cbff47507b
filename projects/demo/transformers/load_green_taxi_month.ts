import path from 'node:path';
import { ensureGreenTaxiFiles } from '../utils/green_taxi';

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
  const trips = await ctx.io.read(file, {
    timestampFormat: '%Y-%m-%d %H:%M:%S',
    columns: {
      VendorID: 'BIGINT', lpep_pickup_datetime: 'TIMESTAMP', lpep_dropoff_datetime: 'TIMESTAMP',
      store_and_fwd_flag: 'VARCHAR', RatecodeID: 'BIGINT', PULocationID: 'BIGINT', DOLocationID: 'BIGINT',
      passenger_count: 'BIGINT', trip_distance: 'DOUBLE', fare_amount: 'DOUBLE', extra: 'DOUBLE',
      mta_tax: 'DOUBLE', tip_amount: 'DOUBLE', tolls_amount: 'DOUBLE', ehail_fee: 'DOUBLE',
      improvement_surcharge: 'DOUBLE', total_amount: 'DOUBLE', payment_type: 'BIGINT', trip_type: 'BIGINT',
      congestion_surcharge: 'DOUBLE',
    },
  });
  return ctx.sql`SELECT ${month} AS month, * FROM ${trips}`;
}

export async function testOneMonth(output: DataFrame) {
  const [row] = await (await output.query(`SELECT count(DISTINCT month) AS months FROM ${output}`)).rows();
  if (output.rowCount === 0 || row?.months !== 1) throw new Error('expected the trips of one month');
}
