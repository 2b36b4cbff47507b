/**
 * Workspace secrets in the metadata store (table `secrets`, migration 3), encrypted with
 * AES-256-GCM under the workspace key (lib/access/secret-key.ts). Values leave this module only
 * through `values()`, which is for kernels; everything shown to people lists names.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import { invalidInput } from '../errors';
import { secretNameSchema } from '../protocol/access-api';
import { type Queryable } from '../store/db';
import { loadSecretKey, secretKeyFile } from './secret-key';

/** Longest value accepted, in characters (the HTTP body's limit too: lib/protocol/access-api.ts). */
export const MAX_SECRET_LENGTH = 65536;

const NONCE_BYTES = 12;

export interface SecretView {
  name: string;
  /** ISO 8601. */
  updated_at: string;
  /** Who set it: a user's name, 'token' (the start token) or 'cli'. */
  updated_by: string;
}

export class SecretDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptError';
  }
}

interface Sealed {
  nonce: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

/**
 * Encrypts one value. The name is the additional authenticated data, so a row copied under
 * another name does not decrypt: a secret cannot be passed off as a different one.
 */
export function sealSecret(key: Buffer, name: string, value: string): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return { nonce, ciphertext, authTag: cipher.getAuthTag() };
}

/** Decrypts one value; throws SecretDecryptError (naming the secret) when the key or the row is not the one it was sealed with. */
export function openSecret(key: Buffer, name: string, sealed: Sealed, keySource: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce);
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(sealed.authTag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptError(
      `secret "${name}" cannot be decrypted: the secret key changed since it was set (${keySource}); restore the old key, or set the secret again`,
    );
  }
}

/** Validates a secret's name (letters, digits and _, not starting with a digit); throws invalid_input. */
export function checkSecretName(name: string): string {
  const parsed = secretNameSchema.safeParse(name);
  if (!parsed.success) throw invalidInput(`"${name.slice(0, 80)}" is not a valid secret name: ${parsed.error.issues[0]?.message ?? 'letters, digits and _'}`);
  return parsed.data;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));

/**
 * The secrets of one workspace. The key is read on first use (never for `list`/`remove`), so a
 * workspace without secrets never needs one and a malformed GRIMOIRE_SECRET_KEY only stops what
 * needs it.
 */
export class SecretStore {
  private key: Promise<Buffer> | null = null;

  constructor(
    private readonly db: Queryable,
    private readonly loadKey: () => Promise<Buffer>,
    /** Where the key comes from, for the error of a value that no longer decrypts. */
    private readonly keySource: string,
  ) {}

  private secretKey(): Promise<Buffer> {
    // A failed read is not kept: the next call tries again (e.g. after the variable is fixed).
    this.key ??= this.loadKey().catch((e: unknown) => {
      this.key = null;
      throw e;
    });
    return this.key;
  }

  /** Sets (or replaces) a secret. Throws invalid_input for a bad name, an empty value or one over 65536 characters. */
  async set(name: string, value: string, by: string): Promise<SecretView> {
    checkSecretName(name);
    if (value.length === 0) throw invalidInput(`the value of secret "${name}" is empty`);
    if (value.length > MAX_SECRET_LENGTH) throw invalidInput(`the value of secret "${name}" is longer than ${MAX_SECRET_LENGTH} characters`);
    const sealed = sealSecret(await this.secretKey(), name, value);
    const r = await this.db.query<{ name: string; updated_at: Date; updated_by: string }>(
      `INSERT INTO secrets (name, nonce, ciphertext, auth_tag, updated_at, updated_by) VALUES ($1, $2, $3, $4, now(), $5)
       ON CONFLICT (name) DO UPDATE SET nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, auth_tag = EXCLUDED.auth_tag,
         updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
       RETURNING name, updated_at, updated_by`,
      [name, sealed.nonce, sealed.ciphertext, sealed.authTag, by],
    );
    const row = r.rows[0];
    if (!row) throw new Error(`storing secret "${name}" returned no row`);
    return { name: row.name, updated_at: iso(row.updated_at), updated_by: row.updated_by };
  }

  /** Removes a secret; false when there was none of that name. Throws invalid_input for a bad name. */
  async remove(name: string): Promise<boolean> {
    checkSecretName(name);
    const r = await this.db.query('DELETE FROM secrets WHERE name = $1', [name]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Names, with when and by whom each was last set; ordered by name. Never values. */
  async list(): Promise<SecretView[]> {
    const r = await this.db.query<{ name: string; updated_at: Date; updated_by: string }>('SELECT name, updated_at, updated_by FROM secrets ORDER BY name');
    return r.rows.map((row) => ({ name: row.name, updated_at: iso(row.updated_at), updated_by: row.updated_by }));
  }

  /**
   * Every secret decrypted, by name: for kernels only. Throws SecretDecryptError naming the first
   * secret that does not decrypt (the key changed), or the key's own error.
   */
  async values(): Promise<Record<string, string>> {
    const r = await this.db.query<{ name: string; nonce: Buffer; ciphertext: Buffer; auth_tag: Buffer }>('SELECT name, nonce, ciphertext, auth_tag FROM secrets ORDER BY name');
    const out: Record<string, string> = {};
    if (r.rows.length === 0) return out;
    const key = await this.secretKey();
    for (const row of r.rows) out[row.name] = openSecret(key, row.name, { nonce: row.nonce, ciphertext: row.ciphertext, authTag: row.auth_tag }, this.keySource);
    return out;
  }
}

/**
 * The secret store of the workspace in `projectsDir`: rows in `db` (a store's pool, whose
 * search_path is its schema), key from GRIMOIRE_SECRET_KEY or `<projectsDir>/.grimoire/secret.key`.
 */
export function workspaceSecretStore(db: Queryable, projectsDir: string, environment: Readonly<Record<string, string | undefined>> = process.env): SecretStore {
  const dataDir = path.join(path.resolve(projectsDir), '.grimoire');
  const fromEnv = environment.GRIMOIRE_SECRET_KEY !== undefined && environment.GRIMOIRE_SECRET_KEY.trim() !== '';
  return new SecretStore(db, () => loadSecretKey(dataDir, environment), fromEnv ? 'GRIMOIRE_SECRET_KEY' : secretKeyFile(dataDir));
}
