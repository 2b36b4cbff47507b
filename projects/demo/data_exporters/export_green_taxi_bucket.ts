/**
 * Optional: the same partitioned lake in a bucket, s3://<lake_bucket>/green_taxi/lpep_pickup_date=.../,
 * written with the AWS_* keys of io_config.yaml's default profile. Skipped (and says so) until the
 * pipeline variable lake_bucket names a bucket. New objects are uploaded before old ones are
 * removed, so readers of the bucket never find a day missing.
 */
export default async function export_green_taxi_bucket(trips: DataFrame, ctx: BlockContext) {
  const bucket = typeof ctx.variables.lake_bucket === 'string' ? ctx.variables.lake_bucket.trim() : '';
  if (bucket === '') {
    ctx.log('skipped: set the variable lake_bucket (and the AWS_* keys in io_config.yaml) to export the lake to a bucket');
    return [{ destination: 'bucket: not set', rows: 0 }];
  }
  const { rows, files } = await ctx.io.parquet.export(trips, {
    path: `s3://${bucket}/green_taxi`,
    partitionBy: ['lpep_pickup_date'],
    writePolicy: 'replace',
  });
  ctx.log(`${rows} rows in ${files} objects`);
  return [{ destination: `s3://${bucket}/green_taxi`, rows }];
}
