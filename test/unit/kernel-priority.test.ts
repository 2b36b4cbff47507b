import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KERNEL_NICE, kernelNice } from '../../lib/kernel/kernel-priority';

test('GRIMOIRE_KERNEL_NICE: unset or empty is the default, 0 to 19 are taken, anything else is refused by name', () => {
  assert.equal(kernelNice({}), DEFAULT_KERNEL_NICE);
  assert.equal(kernelNice({ GRIMOIRE_KERNEL_NICE: ' ' }), DEFAULT_KERNEL_NICE);
  assert.equal(kernelNice({ GRIMOIRE_KERNEL_NICE: '0' }), 0);
  assert.equal(kernelNice({ GRIMOIRE_KERNEL_NICE: '19' }), 19);
  for (const bad of ['-1', '20', '2.5', 'low', '0x5']) {
    assert.throws(() => kernelNice({ GRIMOIRE_KERNEL_NICE: bad }), new RegExp(`GRIMOIRE_KERNEL_NICE must be a whole number from 0 to 19, not "${bad}"`));
  }
});
