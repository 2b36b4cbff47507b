/** AES-256-GCM sealing of one secret (lib/access/secret-store.ts sealSecret/openSecret). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { openSecret, sealSecret, SecretDecryptError } from '../../lib/access/secret-store';

const key = randomBytes(32);

test('a sealed value opens with its key and name; each seal has a fresh 12-byte nonce', () => {
  const a = sealSecret(key, 'API_KEY', 'välue-1');
  const b = sealSecret(key, 'API_KEY', 'välue-1');
  assert.equal(a.nonce.length, 12);
  assert.equal(a.authTag.length, 16);
  assert.notDeepEqual(a.nonce, b.nonce);
  assert.notDeepEqual(a.ciphertext, b.ciphertext);
  assert.ok(!a.ciphertext.includes(Buffer.from('välue-1')));
  assert.equal(openSecret(key, 'API_KEY', a, 'the key file'), 'välue-1');
});

test('another key, another name or a changed byte does not open: the error names the secret and says the key changed', () => {
  const sealed = sealSecret(key, 'API_KEY', 'value');
  const check = (e: unknown) => e instanceof SecretDecryptError && /^secret "API_KEY" cannot be decrypted: the secret key changed since it was set \(GRIMOIRE_SECRET_KEY\)/.test(e.message) && !e.message.includes('value');
  assert.throws(() => openSecret(randomBytes(32), 'API_KEY', sealed, 'GRIMOIRE_SECRET_KEY'), check);
  // The name is authenticated: a row copied under another name does not pass for that secret.
  assert.throws(() => openSecret(key, 'OTHER', sealed, 'GRIMOIRE_SECRET_KEY'), /secret "OTHER" cannot be decrypted/);
  const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
  tampered.ciphertext[0] = (tampered.ciphertext[0] ?? 0) ^ 1;
  assert.throws(() => openSecret(key, 'API_KEY', tampered, 'GRIMOIRE_SECRET_KEY'), check);
});
