import { findCycle } from './dag';
import { readDestination } from './destination';
import { type PipelineIssue } from './issues';
import { EDITOR_ONLY_TYPES, type Pipeline } from './model';
import { fanOutProblems } from '../run/fan-out';
import { readCacheConfig } from './cache-config';
import { topologicalOrder } from './dag';

/**
 * Checks the relations that parsing alone cannot: unique uuids, upstreams that exist, block files
 * that exist, no cycle. `existingFiles` holds project-relative paths (forward slashes).
 */
export function validatePipeline(
  pipeline: Pipeline,
  file: string,
  existingFiles: ReadonlySet<string>,
  lines: ReadonlyMap<string, number> = new Map(),
): PipelineIssue[] {
  const issues: PipelineIssue[] = [];
  const at = (block: string) => ({ file, block, line: lines.get(block) });
  const seen = new Set<string>();
  for (const b of pipeline.blocks) {
    if (seen.has(b.uuid)) issues.push({ ...at(b.uuid), message: `duplicate block uuid "${b.uuid}"` });
    seen.add(b.uuid);
  }
  for (const b of pipeline.blocks) {
    const ups = new Set<string>();
    for (const up of b.upstream) {
      if (!seen.has(up)) issues.push({ ...at(b.uuid), message: `upstream block "${up}" does not exist in this pipeline` });
      if (ups.has(up)) issues.push({ ...at(b.uuid), message: `upstream block "${up}" is listed twice` });
      ups.add(up);
    }
    if (!existingFiles.has(b.file)) issues.push({ ...at(b.uuid), message: `block file ${b.file} is missing` });
    const destination = readDestination(b.configuration);
    if (!destination.ok) issues.push({ ...at(b.uuid), message: destination.message });
  }
  const byUuid = new Map(pipeline.blocks.map((b) => [b.uuid, b]));
  for (const b of pipeline.blocks) {
    for (const up of b.upstream) {
      const upType = byUuid.get(up)?.type;
      if (upType !== undefined && EDITOR_ONLY_TYPES.has(upType)) issues.push({ ...at(b.uuid), message: `upstream block "${up}" is a ${upType} block, which pipeline runs skip: no block can depend on it` });
    }
    const cache = readCacheConfig(b.configuration);
    if (!cache.ok) issues.push({ ...at(b.uuid), message: cache.message });
    if (b.type === 'sensor') {
      for (const key of ['poke_interval', 'timeout']) {
        const value = b.configuration[key];
        // A poke more often than every 0.1 s would only spin the kernel and flood the log.
        const least = key === 'poke_interval' ? 0.1 : 0;
        if (value !== undefined && value !== null && (typeof value !== 'number' || !(value > 0) || value < least)) issues.push({ ...at(b.uuid), message: `configuration.${key} must be a number of seconds${least > 0 ? ` >= ${least}` : ' above 0'}` });
      }
    }
  }
  for (const list of ['conditionals', 'callbacks'] as const) {
    const named = new Set<string>();
    for (const a of pipeline[list]) {
      if (named.has(a.uuid)) issues.push({ ...at(a.uuid), message: `duplicate ${a.kind} uuid "${a.uuid}"` });
      named.add(a.uuid);
      if (!existingFiles.has(a.file)) issues.push({ ...at(a.uuid), message: `${a.kind} file ${a.file} is missing` });
      if (a.upstream.length === 0) issues.push({ ...at(a.uuid), message: `the ${a.kind} is attached to no block: list them in its upstream_blocks` });
      for (const up of a.upstream) if (!seen.has(up)) issues.push({ ...at(a.uuid), message: `the ${a.kind} is attached to "${up}", which is not a block of this pipeline` });
    }
  }
  const cycle = findCycle(pipeline.blocks);
  if (cycle) {
    issues.push({ ...at(cycle[0] ?? ''), message: `cycle in upstream_blocks: ${cycle.join(' -> ')}` });
    return issues;
  }
  // Fan-out is checked in dependency order (it needs no cycle, and one block per uuid, to be there).
  if (seen.size !== pipeline.blocks.length) return issues;
  const order = topologicalOrder(pipeline.blocks);
  const fanBlocks = order.flatMap((u) => {
    const b = byUuid.get(u);
    return b ? [{ uuid: b.uuid, upstream: b.upstream, dynamic: b.configuration.dynamic === true, reduce: b.configuration.reduce_output === true }] : [];
  });
  for (const p of fanOutProblems(fanBlocks)) issues.push({ ...at(p.block), message: p.message });
  return issues;
}
