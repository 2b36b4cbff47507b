import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLOCK_RUN_STATUSES,
  FINISHED_BLOCK_STATUSES,
  PIPELINE_RUN_STATUSES,
  canMove,
  isFinished,
  pipelineStatusOf,
  type BlockRunStatus,
} from '../../lib/run/states';

describe('run states', () => {
  test('stored strings are Mage names', () => {
    assert.deepEqual([...BLOCK_RUN_STATUSES], ['initial', 'queued', 'running', 'completed', 'failed', 'cancelled', 'upstream_failed', 'condition_failed']);
    assert.deepEqual([...PIPELINE_RUN_STATUSES], ['initial', 'running', 'completed', 'failed', 'cancelled']);
  });

  test('isFinished', () => {
    assert.deepEqual(BLOCK_RUN_STATUSES.filter(isFinished), ['completed', 'failed', 'cancelled', 'upstream_failed', 'condition_failed']);
    assert.deepEqual(new Set(BLOCK_RUN_STATUSES.filter(isFinished)), FINISHED_BLOCK_STATUSES);
  });
});

describe('canMove', () => {
  const allowed: [BlockRunStatus, BlockRunStatus][] = [
    ['initial', 'queued'],
    ['initial', 'running'],
    ['initial', 'cancelled'],
    ['initial', 'upstream_failed'],
    ['initial', 'condition_failed'],
    ['queued', 'running'],
    ['queued', 'cancelled'],
    ['queued', 'upstream_failed'],
    ['queued', 'condition_failed'],
    ['running', 'completed'],
    ['running', 'failed'],
    ['running', 'cancelled'],
    ['running', 'condition_failed'],
    ['failed', 'queued'],
    ['cancelled', 'queued'],
    ['upstream_failed', 'queued'],
  ];

  test('exactly the listed moves are allowed', () => {
    const key = (from: string, to: string) => `${from}->${to}`;
    const ok = new Set(allowed.map(([f, t]) => key(f, t)));
    for (const from of BLOCK_RUN_STATUSES) {
      for (const to of BLOCK_RUN_STATUSES) assert.equal(canMove(from, to), ok.has(key(from, to)), key(from, to));
    }
  });

  test('no status moves to itself', () => {
    for (const s of BLOCK_RUN_STATUSES) assert.equal(canMove(s, s), false, s);
  });

  test('completed is final; a block must run to complete or fail', () => {
    for (const to of BLOCK_RUN_STATUSES) assert.equal(canMove('completed', to), false, to);
    assert.equal(canMove('queued', 'completed'), false);
    assert.equal(canMove('initial', 'failed'), false);
    assert.equal(canMove('running', 'upstream_failed'), false);
  });
});

describe('pipelineStatusOf', () => {
  test('no blocks is completed', () => {
    assert.equal(pipelineStatusOf([]), 'completed');
  });

  test('all initial is initial', () => {
    assert.equal(pipelineStatusOf(['initial']), 'initial');
    assert.equal(pipelineStatusOf(['initial', 'initial']), 'initial');
  });

  test('anything unfinished is running', () => {
    assert.equal(pipelineStatusOf(['queued']), 'running');
    assert.equal(pipelineStatusOf(['completed', 'initial']), 'running');
    assert.equal(pipelineStatusOf(['failed', 'running']), 'running');
    assert.equal(pipelineStatusOf(['cancelled', 'queued']), 'running');
  });

  test('all completed is completed', () => {
    assert.equal(pipelineStatusOf(['completed', 'completed']), 'completed');
  });

  test('a block skipped by its conditional does not fail the run', () => {
    assert.equal(pipelineStatusOf(['completed', 'condition_failed']), 'completed');
    assert.equal(pipelineStatusOf(['condition_failed', 'failed']), 'failed');
  });

  test('failed or upstream_failed is failed, and wins over cancelled', () => {
    assert.equal(pipelineStatusOf(['completed', 'failed']), 'failed');
    assert.equal(pipelineStatusOf(['failed', 'upstream_failed']), 'failed');
    assert.equal(pipelineStatusOf(['completed', 'upstream_failed']), 'failed');
    assert.equal(pipelineStatusOf(['cancelled', 'failed']), 'failed');
  });

  test('cancelled without failure is cancelled', () => {
    assert.equal(pipelineStatusOf(['completed', 'cancelled']), 'cancelled');
    assert.equal(pipelineStatusOf(['cancelled']), 'cancelled');
  });

  test('every result is a pipeline status', () => {
    for (const s of BLOCK_RUN_STATUSES) assert.ok(PIPELINE_RUN_STATUSES.some((p) => p === pipelineStatusOf([s])), s);
  });
});
