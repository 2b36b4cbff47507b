import { type Pipeline } from '../pipeline/model';

/**
 * How an SQL block's output may stay a DuckDB view rather than be copied into a table:
 * `pass_through`, only when its query passes one upstream table through unchanged
 * (`SELECT * FROM {{ df_1 }}`) and no block of the run reads it (an exporter): its destination
 * reads that table, and nothing is copied. The table is made and complete before the view exists,
 * so the export reads exactly the rows a copy would have held.
 *
 * There is deliberately no lazy output for a query a downstream block reads: a query left for its
 * reader to run is not the block's output as it ran. Rows the reader does not need are never
 * computed (an error in them goes unseen), its sources and clock are read later, a recursive
 * or lateral reader runs it again and again, and an untyped NULL column stays untyped.
 */
export const LAZY_OUTPUTS = ['pass_through'] as const;
export type LazyOutput = (typeof LAZY_OUTPUTS)[number];

/**
 * The SQL blocks of a one-shot run (`grimoire run`: no preview, no output kept after the run)
 * whose output may stay a view, by block uuid (see LazyOutput); the kernel decides from the
 * rendered SQL whether it does (only a plain pass-through of one upstream table).
 *
 * Left out, as tables: blocks a run must keep as they were made, i.e. cached blocks (their
 * output is saved), dynamic and reduce_output blocks and everything under a fan-out (children
 * read items by row number), blocks with conditionals or callbacks (they read the output too),
 * sensors, and every block that a block of the run reads (a reader could change the rows with
 * INSERT INTO {{ df_1 }}, or see a sibling change the upstream table under it).
 * Pure: `planned` is the run's plan (planRun), in any order.
 */
export function lazyOutputs(pipeline: Pipeline, planned: readonly string[]): Map<string, LazyOutput> {
  const inPlan = new Set(planned);
  const byUuid = new Map(pipeline.blocks.map((b) => [b.uuid, b]));
  const fansOut = (uuid: string) => {
    const c = byUuid.get(uuid)?.configuration;
    return c?.dynamic === true || c?.reduce_output === true;
  };
  // Blocks at or under a fan-out: their inputs are items and combinations, not plain outputs.
  const underFan = new Set<string>();
  const visit = (uuid: string, seen: Set<string>): boolean => {
    if (underFan.has(uuid)) return true;
    if (seen.has(uuid)) return false;
    seen.add(uuid);
    const block = byUuid.get(uuid);
    const under = fansOut(uuid) || (block?.upstream ?? []).some((u) => inPlan.has(u) && visit(u, seen));
    if (under) underFan.add(uuid);
    return under;
  };
  for (const u of planned) visit(u, new Set());
  const addOns = new Set([...pipeline.conditionals, ...pipeline.callbacks].flatMap((a) => a.upstream));
  const lazy = new Map<string, LazyOutput>();
  for (const uuid of planned) {
    const block = byUuid.get(uuid);
    if (!block || block.language !== 'sql' || block.type === 'sensor') continue;
    if (block.configuration.cache !== undefined || underFan.has(uuid) || addOns.has(uuid)) continue;
    const read = pipeline.blocks.some((b) => inPlan.has(b.uuid) && b.upstream.includes(uuid));
    if (!read) lazy.set(uuid, 'pass_through');
  }
  return lazy;
}
