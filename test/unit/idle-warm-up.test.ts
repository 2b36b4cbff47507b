import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdleWarmUp } from '../../lib/kernel/idle-warm-up';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a chain of quick blocks never stops for the warm-up; a pause does, once', async () => {
  let runs = 0;
  const warm = new IdleWarmUp(() => runs++, 60, 120);
  for (let i = 0; i < 8; i++) {
    warm.blockStarted();
    await sleep(10);
    warm.blockEnded();
    await sleep(10);
  }
  assert.equal(runs, 0);
  await sleep(200);
  assert.equal(runs, 1);
  warm.blockStarted();
  await sleep(100);
  warm.blockEnded();
  await sleep(200);
  assert.equal(runs, 1, 'done once only');
});

test('a block that keeps DuckDB busy past busyMs gets the warm-up while it waits', async () => {
  let runs = 0;
  const warm = new IdleWarmUp(() => runs++, 40, 10_000);
  warm.blockStarted();
  await sleep(100);
  assert.equal(runs, 1);
  warm.blockEnded();
});
