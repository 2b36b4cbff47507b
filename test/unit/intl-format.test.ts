import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dateTimeFormat, formatCount } from '../../lib/intl-format';

test('formatters are made once per settings; unknown zones throw as Intl does', () => {
  assert.equal(dateTimeFormat({ timeZone: 'Europe/Berlin' }), dateTimeFormat({ timeZone: 'Europe/Berlin' }));
  assert.throws(() => dateTimeFormat({ timeZone: 'Mars/Olympus' }), RangeError);
  assert.equal(formatCount(1234567), '1,234,567');
});

test('counts are grouped exactly as en-US Intl.NumberFormat groups them', () => {
  const intl = new Intl.NumberFormat('en-US');
  const samples = [0, -0, 1, 12, 123, 1234, -1234, 99999, 100000, 999999, 1000000, -1000001, 266855, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1.5, 1234.5678, -0.25, 2 ** 60, Infinity, -Infinity, NaN];
  for (let k = 1; k < 16; k++) samples.push(10 ** k - 1, 10 ** k, -(10 ** k) + 7);
  for (const n of samples) assert.equal(formatCount(n), intl.format(n), `formatCount(${n})`);
});

test('the cache does not grow without bound on case variants of a zone', () => {
  const zone = 'america/new_york';
  const first = dateTimeFormat({ timeZone: 'America/New_York' });
  // 2^16 case variants exist; a few hundred are enough to pass the bound and start over.
  for (let i = 0; i < 600; i++) {
    const variant = [...zone].map((c, j) => ((i >> j) & 1 ? c.toUpperCase() : c)).join('');
    dateTimeFormat({ timeZone: variant });
  }
  assert.notEqual(dateTimeFormat({ timeZone: 'America/New_York' }), first, 'started over past the bound');
});
