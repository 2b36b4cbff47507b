import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatVariable, parseVariableText } from '../../lib/ui/variable-text';

test('variable text reads as JSON when it is JSON, else as plain text, and round-trips', () => {
  assert.equal(parseVariableText('http://127.0.0.1:8000/green'), 'http://127.0.0.1:8000/green');
  assert.equal(parseVariableText('12'), 12);
  assert.equal(parseVariableText('true'), true);
  assert.deepEqual(parseVariableText('["2020-10", "2020-11"]'), ['2020-10', '2020-11']);
  assert.equal(parseVariableText('"12"'), '12');
  for (const value of ['plain', '12', ' padded', 'true', 7, false, null, ['a'], { k: 1 }]) {
    assert.deepEqual(parseVariableText(formatVariable(value)), value, JSON.stringify(value));
  }
  assert.equal(formatVariable('plain'), 'plain');
  assert.equal(formatVariable('12'), '"12"');
});
