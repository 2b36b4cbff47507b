/**
 * How the run page and `grimoire run` tell of the block kinds, as pure text: sensor poke lines and
 * callback failures read back from logs, a block run's note (waiting sensor, skip, children), the
 * children list's paging, and the CLI's fan-out line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fanOutText, nameList } from '../../lib/cli/format';
import { blockRunViews, countChildren } from '../../lib/runs/block-run-views';
import { type BlockRunRow, type LogRow, type RunEventRow } from '../../lib/store/types';
import { parseCallbackFailure, parsePokeLine, sensorWaitText } from '../../lib/ui/run-log-lines';
import { blockOfRun, blockRunNote, callbackFailureTexts, childrenText, childStatusOptions, pageLabel, type NotedBlockRun } from '../../lib/ui/run-page';

describe('log lines of sensors and callbacks', () => {
  test('poke lines as the engine writes them; anything else is not one', () => {
    assert.deepEqual(parsePokeLine('poke 3: not yet; next in 60 s\n'), { poke: 3, satisfied: false, nextInS: 60 });
    assert.deepEqual(parsePokeLine('poke 12: satisfied'), { poke: 12, satisfied: true, nextInS: null });
    assert.equal(parsePokeLine('poke me: not yet'), null);
    assert.equal(parsePokeLine('a block said poke 1: satisfied'), null);
  });

  test('a waiting sensor counts down from its last poke line, never below zero', () => {
    const at = new Date('2024-01-01T00:00:00Z');
    const line = { poke: 2, satisfied: false, nextInS: 60 };
    assert.equal(sensorWaitText(line, at, new Date('2024-01-01T00:00:18Z')), 'waiting (poke 2, next in 42s)');
    assert.equal(sensorWaitText(line, at, new Date('2024-01-01T00:05:00Z')), 'waiting (poke 2, next in 0s)');
    assert.equal(sensorWaitText({ poke: 4, satisfied: true, nextInS: null }, at, at), 'satisfied (poke 4)');
  });

  test('callback failure lines name the callback, its hook and the message (which may hold colons)', () => {
    assert.deepEqual(parseCallbackFailure('callback notify.onFailure failed: Error: http://x answered 500'), { callback: 'notify', hook: 'onFailure', message: 'Error: http://x answered 500' });
    assert.equal(parseCallbackFailure('callback notify.onWhatever failed: x'), null);
    assert.equal(parseCallbackFailure('my callback failed: x'), null);
  });
});

const row = (block_uuid: string, status: BlockRunRow['status'], position = 0): BlockRunRow => ({
  id: position + 1,
  run_id: 'r',
  block_uuid,
  position,
  status,
  attempts: 1,
  attempt_base: 0,
  started_at: null,
  completed_at: null,
  row_count: null,
  error: null,
  cached: false,
});
const log = (block_uuid: string, stream: string, text: string, id = 1): LogRow => ({ id, run_id: 'r', block_uuid, attempt: 1, at: new Date('2024-01-01T00:00:00Z'), stream, text });
const event = (block_uuid: string | null, status: string, message: string | null, id: number): RunEventRow => ({ id, run_id: 'r', block_uuid, status, attempt: null, at: new Date(), message });

describe('block run views', () => {
  test('children are counted under the block they run, nested keys too; each view gets its last message, poke and callback failures', () => {
    const blocks = [row('list', 'completed'), row('load', 'running', 1), row('wait', 'running', 2), row('load:0', 'completed', 3), row('load:1', 'failed', 4), row('load:1:0', 'completed', 5)];
    assert.equal(blockOfRun('load:1:0'), 'load');
    const counts = countChildren(blocks);
    assert.deepEqual(counts.sort((a, b) => a.status.localeCompare(b.status)), [
      { block: 'load', status: 'completed', count: 2 },
      { block: 'load', status: 'failed', count: 1 },
    ]);
    const views = blockRunViews(blocks, {
      events: [event('load', 'queued', null, 1), event('load', 'running', 'started', 2), event(null, 'running', 'run', 3)],
      children: counts,
      pokes: [log('wait', 'stdout', 'poke 1: not yet; next in 5 s')],
      callbackLines: [log('list', 'system', 'callback notify.onSuccess failed: Error: down'), log('list', 'system', 'callback note: not a failure line')],
    });
    const load = views.find((v) => v.block_uuid === 'load');
    assert.deepEqual(load?.children, { total: 3, statuses: { completed: 2, failed: 1 } });
    assert.equal(load?.message, 'started');
    assert.equal(views.find((v) => v.block_uuid === 'load:0')?.children, null, 'a child is not a group');
    assert.deepEqual(views.find((v) => v.block_uuid === 'wait')?.last_poke, { poke: 1, satisfied: false, next_in_s: 5, at: new Date('2024-01-01T00:00:00Z') });
    assert.deepEqual(views.find((v) => v.block_uuid === 'list')?.callback_failures.map((f) => `${f.callback}.${f.hook}: ${f.message}`), ['notify.onSuccess: Error: down']);
  });
});

describe('the run page\'s notes', () => {
  const base: NotedBlockRun = { status: 'completed', message: null, children: null, last_poke: null, callback_failures: [] };

  test('a running sensor waits; a finished one says nothing of pokes', () => {
    const waiting = { ...base, status: 'running' as const, last_poke: { poke: 3, satisfied: false, next_in_s: 60, at: '2024-01-01T00:00:00.000Z' } };
    assert.equal(blockRunNote(waiting, new Date('2024-01-01T00:00:30Z')), 'waiting (poke 3, next in 30s)');
    assert.equal(blockRunNote({ ...waiting, status: 'completed' }, new Date()), null);
  });

  test('condition_failed is a skip with its reason; a fanned-out block tells its children', () => {
    assert.equal(blockRunNote({ ...base, status: 'condition_failed', message: 'conditional never returned false' }, new Date()), 'skipped: conditional never returned false');
    assert.equal(blockRunNote({ ...base, status: 'condition_failed' }, new Date()), 'skipped: a conditional returned false');
    const children = { total: 1000, statuses: { completed: 990, failed: 7, running: 3 } };
    assert.equal(blockRunNote({ ...base, status: 'running', children }, new Date()), '1,000 children: 3 running, 990 completed, 7 failed');
    assert.equal(childrenText({ total: 1, statuses: { queued: 1 } }), '1 child: 1 queued');
    assert.deepEqual(childStatusOptions(children).map((o) => o.label), ['running (3)', 'completed (990)', 'failed (7)']);
  });

  test('a block that reused its cached output says so', () => {
    assert.equal(blockRunNote({ ...base, cached: true, message: 'cached: reused the output saved at 2024-01-01T00:00:00.000Z' }, new Date()), 'cached: reused the output saved at 2024-01-01T00:00:00.000Z');
    assert.equal(blockRunNote({ ...base, cached: true }, new Date()), 'cached: reused its last output');
  });

  test('callback failures and page labels', () => {
    assert.deepEqual(callbackFailureTexts({ callback_failures: [{ callback: 'notify', hook: 'onFailure', message: 'down' }] }), ['callback notify.onFailure failed: down']);
    assert.equal(pageLabel(0, 50, 1000), '1–50 of 1,000');
    assert.equal(pageLabel(950, 50, 1000), '951–1,000 of 1,000');
    assert.equal(pageLabel(0, 0, 0), 'none');
  });
});

describe('grimoire run\'s fan-out line', () => {
  test('children of the first block by name, cut short past ten; further blocks counted', () => {
    const children = Array.from({ length: 12 }, (_, i) => ({ name: `load:${i}`, block: 'load' }));
    assert.equal(nameList(['a', 'b']), 'a, b');
    assert.equal(fanOutText(children), '12 children: load:0, load:1, load:2, load:3, load:4, load:5, load:6, load:7, load:8, load:9 and 2 more');
    const two = [
      { name: 'load_month:jan', block: 'load_month' },
      { name: 'clean_month:jan', block: 'clean_month' },
    ];
    assert.equal(fanOutText(two), '1 child: load_month:jan (+ 1 of clean_month)');
    const thousand = Array.from({ length: 1000 }, (_, i) => ({ name: `c:${i}`, block: 'c' }));
    assert.match(fanOutText(thousand), /^1,000 children: c:0, .*c:9 and 990 more$/);
  });
});
