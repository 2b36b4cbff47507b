import { BLOCK_RUN_STATUSES, PIPELINE_RUN_STATUSES, canMove, isFinished, type BlockRunStatus, type PipelineRunStatus } from '../run/states';

/**
 * The columns a status change writes, computed here from the state rules of lib/run/states.ts and
 * passed to SQL as values, so the store never re-encodes those rules as SQL `CASE` or `IN` lists
 * that could drift from them. Pipeline statuses are block statuses of the same meaning (a type
 * error here if that ever stops being so), so `isFinished` answers for both.
 */

/** What entering a status does to a block run's stored error: a failure records its own, a fresh start or a success clears it. */
export type ErrorOnEntry = 'record' | 'clear' | 'keep';

const ERROR_ON_ENTRY: Record<BlockRunStatus, ErrorOnEntry> = {
  initial: 'keep',
  queued: 'clear',
  running: 'keep',
  completed: 'clear',
  failed: 'record',
  cancelled: 'record',
  // Its error is its upstream's, shown there; it keeps one recorded by an earlier attempt of its own.
  upstream_failed: 'keep',
  condition_failed: 'clear',
};

export interface BlockRunColumns {
  /** started_at if the block run has none yet (its first start); null leaves it as it is. */
  startedAtIfUnset: Date | null;
  /** completed_at: the time of the change for a finished status, null (cleared) for any other. */
  completedAt: Date | null;
  error: ErrorOnEntry;
}

export function blockRunColumns(status: BlockRunStatus, at: Date): BlockRunColumns {
  return {
    startedAtIfUnset: status === 'running' ? at : null,
    completedAt: isFinished(status) ? at : null,
    error: ERROR_ON_ENTRY[status],
  };
}

/** completed_at of a pipeline run entering `status`: the time for a finished status, else cleared. */
export function runCompletedAt(status: PipelineRunStatus, at: Date): Date | null {
  return isFinished(status) ? at : null;
}

export function isRunFinished(status: PipelineRunStatus): boolean {
  return isFinished(status);
}

/** Pipeline-run statuses that still hold a trigger's slot (skip_if_previous_running counts them). */
export const ACTIVE_RUN_STATUSES: readonly PipelineRunStatus[] = PIPELINE_RUN_STATUSES.filter((s) => !isFinished(s));

/** Block runs a retry of the run queues again: those allowed to move back to queued. */
export const RETRYABLE_BLOCK_STATUSES: readonly BlockRunStatus[] = BLOCK_RUN_STATUSES.filter((s) => canMove(s, 'queued'));

/** Block runs that have not started: cancelling a run that waits cancels these. */
export const WAITING_BLOCK_STATUSES: readonly BlockRunStatus[] = BLOCK_RUN_STATUSES.filter((s) => !isFinished(s) && s !== 'running');
