/**
 * A dynamic block: each month of `variables.months` is an item, and every block downstream runs
 * once per item, named by its metadata: load_green_taxi_month:2020-10, ...
 */
export default async function list_green_taxi_months(ctx: BlockContext) {
  const months = Array.isArray(ctx.variables.months) ? ctx.variables.months.map(String) : ['2020-10', '2020-11', '2020-12'];
  for (const month of months) if (!/^\d{4}-\d{2}$/.test(month)) throw new Error(`months must be YYYY-MM, got "${month}"`);
  return [months.map((month) => ({ month })), months.map((month) => ({ block_uuid: month }))];
}
