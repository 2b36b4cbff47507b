import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { blockApiGlobals } from '../../lib/block-types/block-api-dts';

test('the block API becomes globals that declare DataFrame and BlockContext, with no exports left', () => {
  const source = readFileSync(path.join(__dirname, '..', '..', 'lib', 'kernel', 'block-api.ts'), 'utf8');
  const globals = blockApiGlobals(source);
  assert.match(globals, /^interface DataFrame<Of = unknown> \{/m);
  assert.match(globals, /^interface BlockRows \{/m);
  assert.match(globals, /^interface BlockContext \{/m);
  assert.doesNotMatch(globals, /^export /m);
  assert.doesNotMatch(globals, /^import /m);
});
