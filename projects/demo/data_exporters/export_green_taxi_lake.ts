/**
 * Writes the cleaned trips to a Parquet lake partitioned by pickup date:
 * .grimoire/lake/green_taxi/lpep_pickup_date=2020-10-01/part_<uuid>.parquet ...
 * Written to a temporary folder and swapped into place, so readers never see half a lake.
 */
export default async function export_green_taxi_lake(trips: DataFrame, ctx: BlockContext) {
  const { rows, files } = await ctx.io.parquet.export(trips, {
    path: '.grimoire/lake/green_taxi',
    partitionBy: ['lpep_pickup_date'],
    writePolicy: 'replace',
  });
  ctx.log(`${rows} rows in ${files} Parquet files`);
  return [{ destination: 'parquet: .grimoire/lake/green_taxi', rows }];
}
