/**
 * Graph queries over a pipeline's blocks. Upstream edges are the single source of truth; downstream
 * edges are derived here on demand. Unknown upstream names are ignored (validation reports them).
 */

export interface DagNode {
  uuid: string;
  upstream: readonly string[];
}

function byUuid<N extends DagNode>(nodes: readonly N[]): Map<string, N> {
  return new Map(nodes.map((n) => [n.uuid, n]));
}

export function downstreamOf(nodes: readonly DagNode[]): Map<string, string[]> {
  const down = new Map<string, string[]>(nodes.map((n) => [n.uuid, []]));
  for (const n of nodes) for (const up of n.upstream) down.get(up)?.push(n.uuid);
  return down;
}

/**
 * One cycle as a path that starts and ends at the same block (`a -> b -> a`), or null.
 * Depth-first with an explicit colour per node; the stack gives the path back.
 */
export function findCycle(nodes: readonly DagNode[]): string[] | null {
  const index = byUuid(nodes);
  const colour = new Map<string, 'grey' | 'black'>();
  const stack: string[] = [];
  const visit = (uuid: string): string[] | null => {
    colour.set(uuid, 'grey');
    stack.push(uuid);
    for (const up of index.get(uuid)?.upstream ?? []) {
      if (!index.has(up)) continue;
      const c = colour.get(up);
      if (c === 'grey') {
        // The stack walks against the edges (block -> its upstream); reverse it to read in data-flow order.
        const path = stack.slice(stack.indexOf(up)).reverse();
        return [up, ...path];
      }
      if (c === undefined) {
        const found = visit(up);
        if (found) return found;
      }
    }
    stack.pop();
    colour.set(uuid, 'black');
    return null;
  };
  for (const n of nodes) {
    if (colour.has(n.uuid)) continue;
    const found = visit(n.uuid);
    if (found) return found;
  }
  return null;
}

/**
 * Kahn's algorithm; among blocks that are ready at the same time the one listed first in
 * metadata.yaml goes first, so the order is stable and matches what the user sees.
 * Throws on a cycle: callers validate first.
 */
export function topologicalOrder(nodes: readonly DagNode[]): string[] {
  const index = byUuid(nodes);
  const position = new Map(nodes.map((n, i) => [n.uuid, i]));
  const pending = new Map(nodes.map((n) => [n.uuid, new Set(n.upstream.filter((u) => index.has(u))).size]));
  const down = downstreamOf(nodes);
  const ready = nodes.filter((n) => pending.get(n.uuid) === 0).map((n) => n.uuid);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
    const next = ready.shift();
    if (next === undefined) break;
    order.push(next);
    for (const d of new Set(down.get(next))) {
      const left = (pending.get(d) ?? 0) - 1;
      pending.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  if (order.length !== nodes.length) throw new Error('the pipeline has a cycle');
  return order;
}

function reach(start: string, edges: (uuid: string) => readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...edges(start)];
  while (todo.length > 0) {
    const next = todo.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    todo.push(...edges(next));
  }
  seen.delete(start);
  return seen;
}

/** Every block the given one depends on, directly or not. */
export function ancestors(nodes: readonly DagNode[], uuid: string): Set<string> {
  const index = byUuid(nodes);
  return reach(uuid, (u) => (index.get(u)?.upstream ?? []).filter((x) => index.has(x)));
}

/** Every block that depends on the given one, directly or not. */
export function descendants(nodes: readonly DagNode[], uuid: string): Set<string> {
  const down = downstreamOf(nodes);
  return reach(uuid, (u) => down.get(u) ?? []);
}
