/** The workspace secret key: GRIMOIRE_SECRET_KEY or a 0600 key file (lib/access/secret-key.ts). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { decodeSecretKey, loadSecretKey, SecretKeyError, secretKeyFile } from '../../lib/access/secret-key';

const folders: string[] = [];
after(async () => {
  for (const f of folders) await rm(f, { recursive: true, force: true });
});
async function tempDataDir(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'grimoire-key-'));
  folders.push(root);
  return path.join(root, 'projects', '.grimoire');
}

test('a key is 64 hex digits or base64 of 32 bytes; anything else is a clear error', () => {
  const key = randomBytes(32);
  assert.deepEqual(decodeSecretKey(key.toString('hex'), 'X'), key);
  assert.deepEqual(decodeSecretKey(` ${key.toString('base64')}\n`, 'X'), key);
  assert.deepEqual(decodeSecretKey(key.toString('base64url'), 'X'), key);
  assert.throws(() => decodeSecretKey(randomBytes(16).toString('base64'), 'GRIMOIRE_SECRET_KEY'), (e: unknown) => e instanceof SecretKeyError && /GRIMOIRE_SECRET_KEY must be 32 bytes, but it decodes to 16/.test(e.message));
  assert.throws(() => decodeSecretKey('not a key!', 'GRIMOIRE_SECRET_KEY'), /GRIMOIRE_SECRET_KEY must be 32 bytes written as 64 hex digits or as base64/);
  assert.throws(() => decodeSecretKey('', 'X'), SecretKeyError);
});

test('without GRIMOIRE_SECRET_KEY the key file is made once, mode 0600, and read back after', async () => {
  const dataDir = await tempDataDir();
  const first = await loadSecretKey(dataDir, {});
  assert.equal(first.length, 32);
  const file = secretKeyFile(dataDir);
  assert.equal(file, path.join(dataDir, 'secret.key'));
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(decodeSecretKey(await readFile(file, 'utf8'), file), first);
  assert.deepEqual(await loadSecretKey(dataDir, {}), first);
  // Two processes asking at once agree on one key.
  const other = await tempDataDir();
  const [a, b] = await Promise.all([loadSecretKey(other, {}), loadSecretKey(other, {})]);
  assert.deepEqual(a, b);
});

test('GRIMOIRE_SECRET_KEY wins over the file and makes none; a malformed one is an error naming it', async () => {
  const dataDir = await tempDataDir();
  const key = randomBytes(32);
  assert.deepEqual(await loadSecretKey(dataDir, { GRIMOIRE_SECRET_KEY: key.toString('hex') }), key);
  await assert.rejects(stat(secretKeyFile(dataDir)), /ENOENT/);
  await assert.rejects(loadSecretKey(dataDir, { GRIMOIRE_SECRET_KEY: 'abcd' }), /GRIMOIRE_SECRET_KEY must be 32 bytes/);
});

test("an existing key file is used as it is: a broken one is an error naming the file, and its mode is not changed", async () => {
  const dataDir = await tempDataDir();
  await loadSecretKey(dataDir, {});
  const file = secretKeyFile(dataDir);
  await chmod(file, 0o400);
  await loadSecretKey(dataDir, {});
  assert.equal((await stat(file)).mode & 0o777, 0o400);
  await chmod(file, 0o600);
  await writeFile(file, 'short\n');
  await assert.rejects(loadSecretKey(dataDir, {}), (e: unknown) => e instanceof SecretKeyError && e.message.startsWith(`${file} must be 32 bytes`));
});
