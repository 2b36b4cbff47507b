import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BLOCK_RUN_STATUSES, PIPELINE_RUN_STATUSES, isFinished, type BlockRunStatus } from '../../lib/run/states';
import {
  ACTIVE_RUN_STATUSES,
  RETRYABLE_BLOCK_STATUSES,
  WAITING_BLOCK_STATUSES,
  blockRunColumns,
  isRunFinished,
  runCompletedAt,
  type ErrorOnEntry,
} from '../../lib/store/state-columns';

const at = new Date('2024-03-01T10:00:00Z');

describe('store columns from the run state rules', () => {
  // What the store's SQL CASE expressions did before they were computed from lib/run/states.ts.
  const expected: Record<BlockRunStatus, { started: boolean; completed: boolean; error: ErrorOnEntry }> = {
    initial: { started: false, completed: false, error: 'keep' },
    queued: { started: false, completed: false, error: 'clear' },
    running: { started: true, completed: false, error: 'keep' },
    completed: { started: false, completed: true, error: 'clear' },
    failed: { started: false, completed: true, error: 'record' },
    cancelled: { started: false, completed: true, error: 'record' },
    upstream_failed: { started: false, completed: true, error: 'keep' },
    condition_failed: { started: false, completed: true, error: 'clear' },
  };

  for (const status of BLOCK_RUN_STATUSES) {
    test(`a block run entering ${status}`, () => {
      const cols = blockRunColumns(status, at);
      assert.equal(cols.startedAtIfUnset, expected[status].started ? at : null, 'started_at');
      assert.equal(cols.completedAt, expected[status].completed ? at : null, 'completed_at');
      assert.equal(cols.error, expected[status].error, 'error');
    });
  }

  test('completed_at is set exactly for the statuses lib/run/states.ts calls finished', () => {
    for (const s of BLOCK_RUN_STATUSES) assert.equal(blockRunColumns(s, at).completedAt !== null, isFinished(s), s);
  });

  test('a pipeline run is finished, and has completed_at, when completed, failed or cancelled', () => {
    assert.deepEqual(PIPELINE_RUN_STATUSES.filter(isRunFinished), ['completed', 'failed', 'cancelled']);
    assert.deepEqual(
      PIPELINE_RUN_STATUSES.map((s) => runCompletedAt(s, at)),
      [null, null, at, at, at],
    );
  });

  test('the status sets the store queries by', () => {
    assert.deepEqual(ACTIVE_RUN_STATUSES, ['initial', 'running'], 'runs holding a trigger slot');
    assert.deepEqual(RETRYABLE_BLOCK_STATUSES, ['initial', 'failed', 'cancelled', 'upstream_failed'], 'blocks a retry queues again');
    assert.deepEqual(WAITING_BLOCK_STATUSES, ['initial', 'queued'], 'blocks cancelled with a waiting run');
  });
});
