/**
 * The key that encrypts the workspace's secrets (lib/access/secret-store.ts): 32 bytes for
 * AES-256-GCM, from GRIMOIRE_SECRET_KEY or else from `<workspace data dir>/secret.key`.
 * Never printed: errors say where the key came from, not what it is.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writerTag } from '../project/leftovers';

export const SECRET_KEY_BYTES = 32;

/** The key file of a workspace data folder (`<projects>/.grimoire`). */
export function secretKeyFile(workspaceDataDir: string): string {
  return path.join(workspaceDataDir, 'secret.key');
}

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

/**
 * Decodes a key written as 64 hex digits or as base64 (standard or URL-safe alphabet, padding
 * optional). `source` names where it came from, for the error. Throws SecretKeyError when the text
 * is neither or does not decode to exactly 32 bytes.
 */
export function decodeSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  // Buffer.from(.., 'base64') skips characters it does not know; check the alphabet first so a
  // typo is an error, not a silently different key.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    throw new SecretKeyError(`${source} must be 32 bytes written as 64 hex digits or as base64 (e.g. the output of \`openssl rand -base64 32\`)`);
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== SECRET_KEY_BYTES) {
    throw new SecretKeyError(`${source} must be ${SECRET_KEY_BYTES} bytes, but it decodes to ${key.length} (write 64 hex digits, or base64 such as \`openssl rand -base64 32\`)`);
  }
  return key;
}

function errorCode(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/**
 * Reads the key file, creating it (mode 0600, 32 random bytes as base64) when it is missing. Two
 * processes starting at once agree on one key: the key is written whole to a file of its own and
 * then linked into place, which fails if another process got there first (the loser reads the
 * winner's, never a half-written file). An existing file's mode is left as it is (never loosened).
 */
async function keyFromFile(file: string): Promise<Buffer> {
  try {
    return decodeSecretKey(await readFile(file, 'utf8'), file);
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') throw e;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(SECRET_KEY_BYTES);
  const draft = `${file}.${writerTag()}.tmp`;
  try {
    // 'wx' with 0o600: a new file, never looser than owner-only (umask can only take bits away).
    const handle = await open(draft, 'wx', 0o600);
    try {
      await handle.writeFile(`${key.toString('base64')}\n`);
    } finally {
      await handle.close();
    }
    await link(draft, file);
    return key;
  } catch (e) {
    if (errorCode(e) !== 'EEXIST') throw e;
    return decodeSecretKey(await readFile(file, 'utf8'), file);
  } finally {
    await unlink(draft).catch(() => undefined);
  }
}

/**
 * The workspace's secret key (32 bytes): GRIMOIRE_SECRET_KEY from `environment` when set, else
 * the key file in `workspaceDataDir` (made on first use). Throws SecretKeyError for a malformed
 * key, or the file system's error when the file cannot be read or made.
 */
export async function loadSecretKey(workspaceDataDir: string, environment: Readonly<Record<string, string | undefined>> = process.env): Promise<Buffer> {
  const fromEnv = environment.GRIMOIRE_SECRET_KEY;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return decodeSecretKey(fromEnv, 'GRIMOIRE_SECRET_KEY');
  return keyFromFile(secretKeyFile(workspaceDataDir));
}
