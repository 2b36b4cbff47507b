/**
 * What the notebook, the add-block menu and the graph do differently per block kind, as plain
 * data: which blocks are part of the DAG, which may be an upstream, where a new block is wired,
 * and which settings a kind has.
 */
import { EDITOR_ONLY_TYPES, type BlockType } from '../pipeline/model';

/** Markdown and scratchpads are shown in the notebook, never run with the pipeline: they are not in the DAG. */
export const inDag = (type: BlockType) => !EDITOR_ONLY_TYPES.has(type);

/** Blocks another block may take as an upstream (pipeline runs skip the others, so nothing may wait for them). */
export function upstreamChoices<B extends { uuid: string; type: BlockType }>(blocks: readonly B[], except?: string): B[] {
  return blocks.filter((b) => b.uuid !== except && inDag(b.type));
}

/**
 * The upstream of a block of `type` added below `above`, as Mage wires it: the block above, unless
 * the new one starts a branch (a data loader), has no data (markdown), or the one above is outside the DAG.
 */
export function upstreamBelow(type: BlockType, above: { uuid: string; type: BlockType } | undefined): string[] {
  if (!above || !inDag(above.type) || type === 'data_loader' || type === 'markdown') return [];
  return [above.uuid];
}

/** The settings panel's sections each kind has. */
export function settingsOf(type: BlockType): { upstream: boolean; runs: boolean; fanOut: boolean; sensor: boolean; destination: boolean } {
  const data = type === 'data_loader' || type === 'transformer' || type === 'data_exporter';
  return {
    // A note has no inputs, and is never run, so neither retries nor a timeout mean anything to it.
    upstream: type !== 'markdown',
    runs: type !== 'markdown',
    // Only blocks whose output flows on fan it out (a sensor passes nothing; the editor-only kinds run alone).
    fanOut: data,
    sensor: type === 'sensor',
    destination: data,
  };
}
