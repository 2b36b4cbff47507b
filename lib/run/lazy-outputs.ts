import { type Pipeline } from '../pipeline/model';

/**
 * How an SQL block's output may stay a DuckDB view rather than be copied into a table:
 * - `pass_through`: only when its query passes one upstream table through unchanged
 *   (`SELECT * FROM {{ df_1 }}`) and no block of the run reads it (an exporter): its destination
 *   reads that table, and nothing is copied;
 * - `fuse`: a query of whatever kind, when it has no destination: exactly one block of the run reads it,
 *   an SQL block in the kernel's DuckDB, which runs the query once inside its own, and nothing is copied.
 */
export const LAZY_OUTPUTS = ['pass_through', 'fuse'] as const;
export type LazyOutput = (typeof LAZY_OUTPUTS)[number];

/**
 * The SQL blocks of a one-shot run (`grimoire run`: no preview, no output kept after the run)
 * whose output may stay a view, by block uuid (see LazyOutput); the kernel decides from the
 * rendered SQL whether it does.
 *
 * Left out, as tables: blocks a run must keep as they were made, i.e. cached blocks (their
 * output is saved), dynamic and reduce_output blocks and everything under a fan-out (children
 * read items by row number), blocks with conditionals or callbacks (they read the output too)
 * and sensors. `fuse` also needs its one reader to be a plain SQL block (no data_provider, no
 * profile database, no cache, no add-ons, not under a fan-out) that runs the query once: a TypeScript
 * block may read a frame many times, and a Postgres query counts and then copies its upstream,
 * each of which would run the query again.
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
    const readers = pipeline.blocks.filter((b) => inPlan.has(b.uuid) && b.upstream.includes(uuid));
    const [reader] = readers;
    // The reader must run the query exactly once: not per child of a fan-out, not also for a
    // conditional's frames or a cache key's fingerprint of its inputs.
    const fusable =
      readers.length === 1 &&
      reader !== undefined &&
      reader.language === 'sql' &&
      reader.type !== 'sensor' &&
      !underFan.has(reader.uuid) &&
      !addOns.has(reader.uuid) &&
      reader.configuration.cache === undefined &&
      reader.configuration.data_provider === undefined &&
      reader.configuration.data_provider_profile === undefined &&
      block.configuration.destination === undefined;
    // A pass-through only where no block of the run reads it: a reader could change the rows
    // (INSERT INTO {{ df_1 }}) or see a sibling change the table under it.
    if (fusable) lazy.set(uuid, 'fuse');
    else if (readers.length === 0) lazy.set(uuid, 'pass_through');
  }
  return lazy;
}
