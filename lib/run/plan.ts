import { invalidInput } from '../errors';
import { ancestors, descendants, topologicalOrder, type DagNode } from '../pipeline/dag';

/** What a user asked to run (Mage's run variants). */
export type RunScope =
  | { kind: 'pipeline' }
  | { kind: 'block'; block: string }
  | { kind: 'with_upstream'; block: string }
  | { kind: 'downstream'; block: string };

/**
 * The blocks a scope runs, in dependency order. Blocks outside the plan that a planned block
 * reads from must already have a cached output (the kernel checks and says which to run first).
 */
export function planRun(nodes: readonly DagNode[], scope: RunScope): string[] {
  const order = topologicalOrder(nodes);
  if (scope.kind === 'pipeline') return order;
  if (!nodes.some((n) => n.uuid === scope.block)) throw invalidInput(`block "${scope.block}" is not in this pipeline`);
  const chosen = new Set([scope.block]);
  if (scope.kind === 'with_upstream') for (const a of ancestors(nodes, scope.block)) chosen.add(a);
  if (scope.kind === 'downstream') for (const d of descendants(nodes, scope.block)) chosen.add(d);
  return order.filter((u) => chosen.has(u));
}
