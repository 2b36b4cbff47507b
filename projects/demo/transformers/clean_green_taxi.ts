/** CamelCase -> snake_case: VendorID -> vendor_id, PULocationID -> pu_location_id. */
function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * The homework's cleaning: keep trips with passengers and distance, snake_case the columns, and
 * add the pickup date the lake is partitioned by. Runs as one query inside DuckDB.
 */
export default async function clean_green_taxi(trips: DataFrame, ctx: BlockContext) {
  const renamed = trips.columns.map((c) => `"${c.name}" AS "${snakeCase(c.name)}"`).join(', ');
  ctx.log(`renaming ${trips.columns.filter((c) => snakeCase(c.name) !== c.name).length} columns to snake_case`);
  return ctx.sql.unsafe(`
    SELECT ${renamed}, CAST(lpep_pickup_datetime AS DATE) AS lpep_pickup_date
    FROM ${trips}
    WHERE passenger_count > 0 AND trip_distance > 0`);
}

export async function testPassengersAndDistance(output: DataFrame) {
  const [bad] = await (await output.query(`SELECT count(*) AS n FROM ${output} WHERE NOT (passenger_count > 0 AND trip_distance > 0)`)).rows();
  if (bad?.n !== 0) throw new Error(`${bad?.n} rows have no passengers or no distance`);
}

export async function testSnakeCaseColumns(output: DataFrame) {
  const camel = output.columns.filter((c) => c.name !== snakeCase(c.name));
  if (camel.length > 0) throw new Error(`columns not in snake_case: ${camel.map((c) => c.name).join(', ')}`);
  if (!output.columns.some((c) => c.name === 'vendor_id')) throw new Error('vendor_id is missing');
}

export async function testPickupDate(output: DataFrame) {
  const column = output.columns.find((c) => c.name === 'lpep_pickup_date');
  if (column?.type !== 'DATE') throw new Error(`lpep_pickup_date must be a DATE column, got ${column?.type ?? 'none'}`);
}
