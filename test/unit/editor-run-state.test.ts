/** The notebook's run state (components/editor/run-state.ts) for the block kinds: children of a fan-out, skips, failed callbacks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reduceRun, type RunState } from '../../components/editor/run-state';
import { type ServerMessage } from '../../lib/protocol/messages';

const ref = { project: 'p', pipeline: 'etl', runId: 'r1' };
const at = '2026-01-01T00:00:00.000Z';
const apply = (state: RunState, ...messages: ServerMessage[]) => messages.reduce((s, message) => reduceRun(s, { type: 'server', message }), state);
const empty: RunState = { connected: true, kernel: 'idle', blocks: {}, children: {}, callbackErrors: {} };

test('a fan-out lists the children by block; a new run of the block starts them afresh, stale statuses gone', () => {
  const added = (runId: string): ServerMessage => ({ type: 'block_runs_added', ...ref, runId, parent: 'items', blocks: [{ name: 'per:0', block: 'per' }, { name: 'per:1', block: 'per' }] });
  let s = apply(empty, added('r1'), { type: 'block_status', ...ref, block: 'per:0', status: 'completed', at }, { type: 'block_status', ...ref, block: 'per:1', status: 'failed', at });
  assert.deepEqual(s.children, { per: ['per:0', 'per:1'] });
  assert.equal(s.blocks['per:1']?.status, 'failed');
  s = apply(s, { type: 'run_status', ...ref, runId: 'r2', status: 'running', blocks: ['items', 'per'] });
  assert.deepEqual(s.children, {});
  s = apply(s, added('r2'));
  // The child names come back, but not what they showed in the run before.
  assert.equal(s.blocks['per:1']?.status, 'initial');
  assert.deepEqual(s.children, { per: ['per:0', 'per:1'] });
});

test('condition_failed keeps why the block was skipped, until it runs again', () => {
  let s = apply(empty, { type: 'block_status', ...ref, block: 'export', status: 'condition_failed', at, message: 'conditional never returned false' });
  assert.equal(s.blocks.export?.status, 'condition_failed');
  assert.equal(s.blocks.export?.skipped, 'conditional never returned false');
  s = apply(s, { type: 'block_status', ...ref, block: 'export', status: 'running', at });
  assert.equal(s.blocks.export?.skipped, undefined);
});

test('a callback that threw is kept by block run; one that did not is no news', () => {
  const s = apply(
    empty,
    { type: 'callback', ...ref, block: 'per:0', callback: 'notify', hook: 'onSuccess', at },
    { type: 'callback', ...ref, block: 'per:0', callback: 'notify', hook: 'onFailure', at, error: { kind: 'exception', message: 'no webhook' } },
  );
  assert.deepEqual(s.callbackErrors, { 'per:0': ['notify.onFailure: no webhook'] });
});
