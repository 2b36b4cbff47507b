import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { describeIssues, InvalidMessageLog } from '../../lib/protocol/invalid-message';

const schema = z.object({ type: z.literal('run'), block: z.string().regex(/^\w+$/, 'a block name is letters, digits and _'), vars: z.record(z.string(), z.number()) });

function errorOf(value: unknown): z.ZodError {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected a failure');
  return parsed.error;
}

test('the description names each problem by its path, never the values', () => {
  const text = describeIssues(errorOf({ type: 'run', block: 'secret value!', vars: { api_key: 'sk-live-123' } }));
  assert.equal(text, 'block: a block name is letters, digits and _; vars.api_key: Invalid input: expected number, received string');
  assert.doesNotMatch(text, /secret value|sk-live-123/);
  assert.equal(describeIssues(errorOf('text')), 'message: Invalid input: expected object, received string');
});

test('at most five problems are listed, the rest counted', () => {
  const vars = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`v${i}`, 'x']));
  assert.match(describeIssues(errorOf({ type: 'run', block: 'ok', vars })), /v4: [^;]*; and 3 more$/);
});

test('each distinct problem is logged once; after the limit, one line says the rest are not', () => {
  const lines: string[] = [];
  const log = new InvalidMessageLog('test: message', (l) => lines.push(l), 2);
  log.invalid(errorOf('a'));
  log.invalid(errorOf('a'));
  log.problem('too deep');
  log.problem('too deep');
  log.problem('something else');
  log.problem('and another');
  assert.deepEqual(lines, [
    'test: message dropped as invalid: message: Invalid input: expected object, received string',
    'test: message dropped as invalid: too deep',
    'test: message: more invalid messages were dropped; they are no longer logged',
  ]);
});
