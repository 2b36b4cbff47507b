import { Graph, layout } from '@dagrejs/dagre';

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 54;

/**
 * Top-left positions of the blocks laid out top to bottom along their upstream edges (dagre). A block
 * may say it is taller than NODE_HEIGHT (a node with badges), so its neighbours keep clear of it.
 */
export function layoutBlocks(blocks: readonly { uuid: string; upstream: readonly string[]; height?: number }[]): Map<string, { x: number; y: number }> {
  const g = new Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 30, ranksep: 50, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  const known = new Set(blocks.map((b) => b.uuid));
  for (const b of blocks) g.setNode(b.uuid, { width: NODE_WIDTH, height: b.height ?? NODE_HEIGHT });
  for (const b of blocks) for (const u of b.upstream) if (known.has(u)) g.setEdge(u, b.uuid);
  layout(g);
  const positions = new Map<string, { x: number; y: number }>();
  for (const b of blocks) {
    const n = g.node(b.uuid);
    positions.set(b.uuid, { x: (n?.x ?? 0) - NODE_WIDTH / 2, y: (n?.y ?? 0) - (b.height ?? NODE_HEIGHT) / 2 });
  }
  return positions;
}
