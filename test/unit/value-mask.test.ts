/** Masking of secret values in logs, errors, previews and pages (lib/kernel/value-mask.ts, lib/io/io-config.ts redact). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redact } from '../../lib/io/io-config';
import { maskForms, secretEnvValues, ValueMask } from '../../lib/kernel/value-mask';

test('redact hides longer secrets whole before shorter ones inside them, and ignores too-short values', () => {
  assert.equal(redact('key=abcdef and abc', ['abc', 'abcdef']), 'key=*** and ***');
  assert.equal(redact('a b ab', ['a', 'ab', '']), 'a b ab');
});

test('a value is masked as is, JSON-escaped and URL-encoded', () => {
  const value = 'p@ss"w/rd';
  assert.deepEqual(new Set(maskForms(value)), new Set([value, 'p@ss\\"w/rd', 'p%40ss%22w%2Frd']));
  const mask = new ValueMask();
  mask.add([value]);
  assert.equal(mask.text(`plain ${value} json ${JSON.stringify({ pw: value })} url postgres://u:${encodeURIComponent(value)}@h/db`), 'plain *** json {"pw":"***"} url postgres://u:***@h/db');
});

test('ValueMask masks block errors, preview cells (nested too), column names and page answers, leaving other values alone', () => {
  const mask = new ValueMask();
  assert.equal(mask.text('nothing known yet: s3cret'), 'nothing known yet: s3cret');
  mask.add(['s3cret', 'xy']);
  assert.equal(mask.size, 1, 'a two-character value is not worth masking');
  assert.deepEqual(mask.blockError({ kind: 'exception', message: 'bad s3cret', stack: 'at s3cret' }), { kind: 'exception', message: 'bad ***', stack: 'at ***' });
  assert.deepEqual(mask.blockError({ kind: 'sql', message: 'no stack s3cret' }), { kind: 'sql', message: 'no stack ***' });
  const preview = mask.preview({ columns: [{ name: 's3cret', type: 'VARCHAR' }], rowCount: 1, rows: [{ s3cret: 'is s3cret', n: 3, list: ['s3cret', 1], obj: { k: 's3cret!' } }] });
  // A column named after the value (SELECT 's3cret') is masked too, with the rows' keys.
  assert.deepEqual(preview.columns, [{ name: '***', type: 'VARCHAR' }]);
  assert.deepEqual(preview.rows, [{ '***': 'is ***', n: 3, list: ['***', 1], obj: { k: '***!' } }]);
  const page = mask.answer({ kind: 'page', columns: [], rows: [{ a: 's3cret', b: null, c: ['s3cret'] }], offset: 0, rowCount: 1, totalRowCount: 1 });
  assert.deepEqual(page.kind === 'page' ? page.rows : null, [{ a: '***', b: null, c: ['***'] }]);
  const chart = mask.answer({ kind: 'chart', chart: 'bar', points: [{ label: 's3cret', value: 2 }] });
  assert.deepEqual(chart.kind === 'chart' ? chart.points : null, [{ label: '***', value: 2 }]);
});

test('password-like variables are found by name, as a whole word', () => {
  const values = secretEnvValues({ POSTGRES_PASSWORD: 'pw1', AWS_SECRET_ACCESS_KEY: 'aws', GITHUB_TOKEN: 'gh', TOKENIZER_MODEL: 'bert', PATH: '/bin', PGPASSWORD: 'pg', MY_API_KEY: 'k' });
  assert.deepEqual(values.sort(), ['aws', 'gh', 'k', 'pg', 'pw1']);
});
