/** Run states. These strings are stored and shown: Mage's names, never to change meaning. */

export const BLOCK_RUN_STATUSES = [
  'initial',
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'upstream_failed',
  // A conditional attached to the block (or to one upstream of it) returned false: skipped, not failed.
  'condition_failed',
] as const;
export type BlockRunStatus = (typeof BLOCK_RUN_STATUSES)[number];

export const PIPELINE_RUN_STATUSES = ['initial', 'running', 'completed', 'failed', 'cancelled'] as const;
export type PipelineRunStatus = (typeof PIPELINE_RUN_STATUSES)[number];

export const FINISHED_BLOCK_STATUSES: ReadonlySet<BlockRunStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
  'upstream_failed',
  'condition_failed',
]);

export function isFinished(status: BlockRunStatus): boolean {
  return FINISHED_BLOCK_STATUSES.has(status);
}

/** Which moves a block run may make; anything else is a bug in the caller. */
const ALLOWED: Record<BlockRunStatus, readonly BlockRunStatus[]> = {
  initial: ['queued', 'running', 'cancelled', 'upstream_failed', 'condition_failed'],
  queued: ['running', 'cancelled', 'upstream_failed', 'condition_failed'],
  running: ['completed', 'failed', 'cancelled', 'condition_failed'],
  completed: [],
  failed: ['queued'],
  cancelled: ['queued'],
  upstream_failed: ['queued'],
  condition_failed: [],
};

export function canMove(from: BlockRunStatus, to: BlockRunStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** A pipeline run's status follows from its block runs; a block skipped by its conditional is no failure. */
export function pipelineStatusOf(statuses: readonly BlockRunStatus[]): PipelineRunStatus {
  if (statuses.length === 0) return 'completed';
  if (statuses.every((s) => s === 'initial')) return 'initial';
  if (statuses.some((s) => !isFinished(s))) return 'running';
  if (statuses.some((s) => s === 'failed' || s === 'upstream_failed')) return 'failed';
  if (statuses.some((s) => s === 'cancelled')) return 'cancelled';
  return 'completed';
}
