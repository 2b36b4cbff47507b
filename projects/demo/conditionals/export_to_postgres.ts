/**
 * Runs the blocks it is attached to only when the variable export_to_postgres is true (a pipeline
 * variable, or a runtime one: --runtime-vars '{"export_to_postgres": true}'); otherwise they are
 * skipped (condition_failed, not a failure: the run still completes).
 */
export default async function export_to_postgres(quarter: DataFrame, ctx: BlockContext) {
  const wanted = ctx.variables.export_to_postgres === true;
  if (!wanted) ctx.log(`skipped: set the variable export_to_postgres to true to write ${quarter.rowCount} months to mage.green_taxi_monthly`);
  return wanted;
}
