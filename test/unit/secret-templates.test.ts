/** `{{ mage_secret_var('NAME') }}` in io_config.yaml, and the lookup that ctx.secrets.get uses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IoConfigError, parseIoConfig, secretsOf } from '../../lib/io/io-config';
import { lookupSecret, SecretNotSetError } from '../../lib/pipeline/secret-ref';

const config = [
  'version: 0.1.1',
  'default:',
  '  POSTGRES_HOST: db.local',
  "  POSTGRES_USER: {{ env_var('PGU') }}",
  "  POSTGRES_PASSWORD: \"{{ mage_secret_var('PG_PASSWORD') }}\"",
  '',
].join('\n');

test('io_config.yaml reads secrets with mage_secret_var, beside env_var', () => {
  const profiles = parseIoConfig(config, { PGU: 'loader' }, { PG_PASSWORD: 'pa55-word' });
  const pg = profiles.get('default')?.postgres;
  assert.equal(pg?.user, 'loader');
  assert.equal(pg?.password, 'pa55-word');
  // A password read from a secret is masked like any profile password.
  assert.deepEqual(secretsOf(profiles), ['pa55-word']);
});

test('an unknown secret in io_config.yaml is an IoConfigError naming it, not the secrets that exist', () => {
  assert.throws(
    () => parseIoConfig(config, { PGU: 'loader' }, { OTHER: 'value' }),
    (e: unknown) => e instanceof IoConfigError && /^io_config\.yaml: secret "PG_PASSWORD" is not set/.test(e.message) && !e.message.includes('OTHER'),
  );
  // No secrets passed in at all: the same error, not a crash.
  assert.throws(() => parseIoConfig(config, { PGU: 'loader' }), /secret "PG_PASSWORD" is not set/);
});

test('lookupSecret returns own values only and names the missing secret', () => {
  const secrets = { TOKEN: 'abc123' };
  assert.equal(lookupSecret(secrets, 'TOKEN'), 'abc123');
  assert.throws(() => lookupSecret(secrets, 'toString'), (e: unknown) => e instanceof SecretNotSetError && e.secret === 'toString');
  assert.throws(() => lookupSecret(secrets, 'NOPE'), /secret "NOPE" is not set/);
  assert.throws(() => lookupSecret(secrets, 42), TypeError);
});
