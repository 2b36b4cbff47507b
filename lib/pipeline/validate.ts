import { findCycle } from './dag';
import { readDestination } from './destination';
import { type PipelineIssue } from './issues';
import { type Pipeline } from './model';

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
  const cycle = findCycle(pipeline.blocks);
  if (cycle) {
    issues.push({ ...at(cycle[0] ?? ''), message: `cycle in upstream_blocks: ${cycle.join(' -> ')}` });
  }
  return issues;
}
