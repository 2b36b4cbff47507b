/**
 * Replaces mage.green_taxi in Postgres with the cleaned trips. The rows stream from DuckDB into
 * COPY FROM STDIN, and the new table takes the old one's place in one transaction.
 */
export default async function export_green_taxi_postgres(trips: DataFrame, ctx: BlockContext) {
  const { rows } = await ctx.io.postgres('default').export(trips, { schema: 'mage', table: 'green_taxi', writePolicy: 'replace' });
  ctx.log(`${rows} rows now in mage.green_taxi`);
  return [{ destination: 'postgres: mage.green_taxi', rows }];
}
