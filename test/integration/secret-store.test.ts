/** Workspace secrets in a real Postgres: encrypted rows, names-only listing, a changed key (lib/access/secret-store.ts). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { secretKeyFile } from '../../lib/access/secret-key';
import { SecretDecryptError, SecretStore, workspaceSecretStore } from '../../lib/access/secret-store';
import { UserError } from '../../lib/errors';
import { type Store } from '../../lib/store/store';
import { testStore } from '../support/store';

let env: Awaited<ReturnType<typeof testStore>>;
let store: Store;
let projectsDir: string;

before(async () => {
  env = await testStore();
  store = env.store;
  projectsDir = await mkdtemp(path.join(os.tmpdir(), 'grimoire-secrets-'));
});
after(async () => {
  await env?.close();
  if (projectsDir) await rm(projectsDir, { recursive: true, force: true });
});

test('set, list, values and remove: rows hold ciphertext, the list holds names', async () => {
  const secrets = workspaceSecretStore(store.pool, projectsDir, {});
  const set = await secrets.set('API_KEY', 'value-one', 'alice');
  assert.equal(set.name, 'API_KEY');
  assert.equal(set.updated_by, 'alice');
  await secrets.set('DB_PASSWORD', 'pw "with" quotes', 'cli');
  // The key file was made beside the workspace's other runtime data, owner-only.
  assert.equal((await stat(secretKeyFile(path.join(projectsDir, '.grimoire')))).mode & 0o777, 0o600);

  const raw = await store.pool.query<{ name: string; nonce: Buffer; ciphertext: Buffer }>('SELECT name, nonce, ciphertext FROM secrets ORDER BY name');
  assert.deepEqual(raw.rows.map((r) => r.name), ['API_KEY', 'DB_PASSWORD']);
  for (const r of raw.rows) assert.equal(r.nonce.length, 12);
  assert.ok(!raw.rows.some((r) => r.ciphertext.toString('latin1').includes('value-one')), 'no value is stored in clear');

  const listed = await secrets.list();
  assert.deepEqual(listed.map((s) => [s.name, s.updated_by]), [['API_KEY', 'alice'], ['DB_PASSWORD', 'cli']]);
  assert.ok(listed.every((s) => !Number.isNaN(Date.parse(s.updated_at))));
  assert.doesNotMatch(JSON.stringify(listed), /value-one|quotes/);

  assert.deepEqual(await secrets.values(), { API_KEY: 'value-one', DB_PASSWORD: 'pw "with" quotes' });

  // Setting again replaces the value and who set it; another store on the same key reads it.
  await secrets.set('API_KEY', 'value-two', 'bob');
  const again = workspaceSecretStore(store.pool, projectsDir, {});
  assert.equal((await again.values()).API_KEY, 'value-two');
  assert.equal((await again.list()).find((s) => s.name === 'API_KEY')?.updated_by, 'bob');

  assert.equal(await secrets.remove('DB_PASSWORD'), true);
  assert.equal(await secrets.remove('DB_PASSWORD'), false);
  assert.deepEqual(Object.keys(await secrets.values()), ['API_KEY']);
  await secrets.remove('API_KEY');
});

test('bad names, empty and oversized values are invalid input, and nothing is stored', async () => {
  const secrets = workspaceSecretStore(store.pool, projectsDir, {});
  const invalid = (e: unknown) => e instanceof UserError && e.code === 'invalid_input';
  await assert.rejects(secrets.set('1ABC', 'v', 'x'), invalid);
  await assert.rejects(secrets.set('has space', 'v', 'x'), invalid);
  await assert.rejects(secrets.set('OK_NAME', '', 'x'), (e: unknown) => invalid(e) && /empty/.test(String(e)));
  await assert.rejects(secrets.set('OK_NAME', 'x'.repeat(65537), 'x'), invalid);
  await assert.rejects(secrets.remove('bad-name'), invalid);
  assert.deepEqual(await secrets.list(), []);
});

test('a changed key: values() fails naming the secret and saying the key changed; list still works', async () => {
  const first = randomBytes(32).toString('hex');
  await workspaceSecretStore(store.pool, projectsDir, { GRIMOIRE_SECRET_KEY: first }).set('ROTATED', 'old-value', 'alice');
  const changed = workspaceSecretStore(store.pool, projectsDir, { GRIMOIRE_SECRET_KEY: randomBytes(32).toString('base64') });
  await assert.rejects(
    changed.values(),
    (e: unknown) => e instanceof SecretDecryptError && /secret "ROTATED" cannot be decrypted: the secret key changed since it was set \(GRIMOIRE_SECRET_KEY\)/.test(e.message),
  );
  assert.deepEqual((await changed.list()).map((s) => s.name), ['ROTATED']);
  // Setting it again under the new key mends it.
  await changed.set('ROTATED', 'new-value', 'alice');
  assert.deepEqual(await changed.values(), { ROTATED: 'new-value' });
  await changed.remove('ROTATED');
});

test('the key is read only when a value is: listing with a malformed key works, and a fixed key is read again', async () => {
  let attempts = 0;
  let good = false;
  const key = randomBytes(32);
  const secrets = new SecretStore(
    store.pool,
    async () => {
      attempts++;
      if (!good) throw new Error('GRIMOIRE_SECRET_KEY must be 32 bytes');
      return key;
    },
    'GRIMOIRE_SECRET_KEY',
  );
  assert.deepEqual(await secrets.list(), []);
  assert.deepEqual(await secrets.values(), {}, 'no secrets: no key needed');
  assert.equal(attempts, 0);
  await assert.rejects(secrets.set('LATER', 'v1', 'x'), /must be 32 bytes/);
  good = true;
  await secrets.set('LATER', 'v1', 'x');
  assert.equal(attempts, 2, 'a failed read is not remembered');
  assert.deepEqual(await secrets.values(), { LATER: 'v1' });
  assert.equal(attempts, 2, 'a good key is');
  await secrets.remove('LATER');
});
