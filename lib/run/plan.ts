import { invalidInput } from '../errors';
import { ancestors, descendants, topologicalOrder, type DagNode } from '../pipeline/dag';
import { EDITOR_ONLY_TYPES, type BlockType } from '../pipeline/model';

/** What a user asked to run (Mage's run variants). */
export type RunScope =
  | { kind: 'pipeline' }
  | { kind: 'block'; block: string }
  | { kind: 'with_upstream'; block: string }
  | { kind: 'downstream'; block: string };

/**
 * The blocks a scope runs, in dependency order. Blocks outside the plan that a planned block
 * reads from must already have a cached output (the kernel checks and says which to run first).
 * Markdown blocks never run, and scratchpads only when run on their own (in the editor).
 */
export function planRun(nodes: readonly (DagNode & { type?: BlockType })[], scope: RunScope): string[] {
  const skipped = new Set(nodes.filter((n) => n.type !== undefined && EDITOR_ONLY_TYPES.has(n.type)).map((n) => n.uuid));
  const target = nodes.find((n) => scope.kind !== 'pipeline' && n.uuid === scope.block);
  if (target?.type === 'markdown') throw invalidInput(`block "${target.uuid}" is a markdown block: it is shown, never run`);
  // Sorted even for one block: a cycle is an error whatever runs.
  const order = topologicalOrder(nodes).filter((u) => !skipped.has(u) || u === target?.uuid);
  if (scope.kind === 'block' && target) return [target.uuid];
  if (scope.kind === 'pipeline') return order;
  if (!target) throw invalidInput(`block "${scope.block}" is not in this pipeline`);
  const chosen = new Set([scope.block]);
  if (scope.kind === 'with_upstream') for (const a of ancestors(nodes, scope.block)) chosen.add(a);
  if (scope.kind === 'downstream') for (const d of descendants(nodes, scope.block)) chosen.add(d);
  return order.filter((u) => chosen.has(u));
}
