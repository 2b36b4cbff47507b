/**
 * Object storage through the AWS SDK v3 (S3 and S3-compatible servers): list, upload, download
 * and remove, with every failure said in the user's terms (which bucket, which profile, what to
 * check) within a bounded time. Credentials come only from the io_config.yaml profile.
 */
import { createReadStream, createWriteStream, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type S3Profile } from './io-config';
import { commitFile } from '../atomic-write';
import { writerTag } from '../project/leftovers';

/** One object of a listing. `etag` is the server's, quotes removed. */
export interface StoredObject {
  key: string;
  etag: string;
  size: number;
}

export class ObjectStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectStoreError';
  }
}

/** Files moved at once: enough to keep a link busy, few enough for a small server. */
export const TRANSFER_CONCURRENCY = 16;

/** Files up to this size go in one PutObject; larger ones as a multipart upload of 8 MiB parts. */
const SINGLE_PUT_BYTES = 8 * 1024 * 1024;

export interface ObjectStore {
  /** Every object whose key starts with `prefix` (all pages). */
  list(bucket: string, prefix: string): Promise<StoredObject[]>;
  /** True when some object's key starts with `prefix`. */
  hasAny(bucket: string, prefix: string): Promise<boolean>;
  /** Uploads a local file (multipart when large); resolves with its size in bytes. */
  upload(bucket: string, key: string, file: string): Promise<number>;
  /** Streams an object to `file` (written whole or not at all). */
  download(bucket: string, key: string, file: string): Promise<void>;
  /** Removes objects (a key that does not exist counts as removed); resolves with those it could not remove, and why. */
  remove(bucket: string, keys: readonly string[]): Promise<{ key: string; reason: string }[]>;
  close(): void;
}

// The SDK warns that releases after January 2027 need Node 22; ours are pinned in the lockfile,
// and a warning in every block's log would say nothing the user can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type S3Sdk = typeof import('@aws-sdk/client-s3');
type S3Storage = typeof import('@aws-sdk/lib-storage');

/**
 * The SDK's modules, loaded on first use. Required, not imported: a kernel runs its bundle
 * through V8's code cache (lib/bundle/code-cache.js), where Node 20 has no import().
 */
function loadSdk(): { sdk: S3Sdk; storage: S3Storage } {
  const sdk: S3Sdk = require('@aws-sdk/client-s3');
  const storage: S3Storage = require('@aws-sdk/lib-storage');
  return { sdk, storage };
}

/** Loads the SDK ahead of need (a kernel's idle time), so the first export does not wait ~250 ms for it. */
export function preloadObjectStore(): void {
  try {
    loadSdk();
  } catch {
    // Said by the first export that needs it.
  }
}

/** Whether a project's io_config.yaml names object-storage keys (a cheap text check, no parsing). */
export function mentionsObjectStorage(projectDir: string): boolean {
  try {
    return /^\s*AWS_(ACCESS_KEY_ID|ENDPOINT)\s*:/m.test(readFileSync(path.join(projectDir, 'io_config.yaml'), 'utf8'));
  } catch {
    return false;
  }
}

/**
 * An object store for `profile` (named `profileName` in messages). The SDK is loaded on first use:
 * kernels that never touch a bucket do not pay for it.
 */
export async function openObjectStore(profile: S3Profile, profileName: string): Promise<ObjectStore> {
  const { sdk, storage } = loadSdk();
  const { Upload } = storage;
  const client = new sdk.S3Client({
    region: profile.region,
    endpoint: profile.endpoint,
    // S3-compatible servers on an address (127.0.0.1:9000) have no per-bucket host names.
    forcePathStyle: profile.endpoint !== undefined,
    credentials: { accessKeyId: profile.accessKeyId, secretAccessKey: profile.secretAccessKey, sessionToken: profile.sessionToken },
    // Bounded: an unreachable endpoint fails in seconds (5 s to connect), a server that accepts
    // and never answers, or a transfer that stalls, after 20 s without a byte, per attempt.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000 },
    maxAttempts: 3,
    // CRC checksums of every body cost CPU the export needs; TLS and S3's own MD5 checks of
    // multipart parts still guard the bytes. Only where S3 requires one (DeleteObjects).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const where = profile.endpoint ?? `AWS S3 (${profile.region})`;
  const fail = (e: unknown, action: string, bucket: string, key?: string) => describeFailure(e, { action, bucket, key, profile: profileName, endpoint: where });
  return {
    async list(bucket, prefix) {
      const out: StoredObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })).catch((e: unknown) => {
          throw fail(e, 'list', bucket, prefix);
        });
        for (const o of page.Contents ?? []) {
          if (o.Key !== undefined) out.push({ key: o.Key, etag: (o.ETag ?? '').replaceAll('"', ''), size: o.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async hasAny(bucket, prefix) {
      // One page, not MaxKeys 1: some S3-compatible servers (s3rver) fail a truncated first page.
      const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix })).catch((e: unknown) => {
        throw fail(e, 'list', bucket, prefix);
      });
      return (page.Contents ?? []).length > 0;
    },
    async upload(bucket, key, file) {
      const { size } = await fs.stat(file);
      if (size <= SINGLE_PUT_BYTES) {
        // One request with the bytes in hand: lib-storage's stream chunking costs more than it saves here.
        const body = await fs.readFile(file);
        await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body })).catch((e: unknown) => {
          throw fail(e, 'write', bucket, key);
        });
        return size;
      }
      const upload = new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) }, partSize: 8 * 1024 * 1024, queueSize: 4, leavePartsOnError: false });
      await upload.done().catch((e: unknown) => {
        throw fail(e, 'write', bucket, key);
      });
      return size;
    },
    async download(bucket, key, file) {
      const answer = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key })).catch((e: unknown) => {
        throw fail(e, 'read', bucket, key);
      });
      if (!(answer.Body instanceof Readable)) throw new ObjectStoreError(`read s3://${bucket}/${key}: the server sent no body`);
      const draft = `${file}.${writerTag()}.part`;
      try {
        await pipeline(answer.Body, createWriteStream(draft));
        await commitFile(draft, file);
      } catch (e) {
        await fs.rm(draft, { force: true });
        throw fail(e, 'read', bucket, key);
      }
    },
    async remove(bucket, keys) {
      const failed: { key: string; reason: string }[] = [];
      // One by one, for the keys a batch could not remove (a server without multi-object
      // delete, as some S3-compatible ones are, or one that wants Content-MD5).
      const oneByOne = async (batch: readonly string[]) => {
        await eachLimited(batch, TRANSFER_CONCURRENCY, async (Key) => {
          try {
            await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key }));
          } catch (e) {
            failed.push({ key: Key, reason: fail(e, 'delete', bucket, Key).message });
          }
        });
      };
      // DeleteObjects takes at most 1,000 keys per call.
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        try {
          const answer = await client.send(new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
          const refused = (answer.Errors ?? []).flatMap((e) => (e.Key === undefined ? [] : [e.Key]));
          if (refused.length > 0) await oneByOne(refused);
        } catch {
          await oneByOne(batch);
        }
      }
      return failed;
    },
    close() {
      client.destroy();
    },
  };
}

function stringField(e: unknown, field: string): string | undefined {
  if (typeof e !== 'object' || e === null || !(field in e)) return undefined;
  const value: unknown = Reflect.get(e, field);
  return typeof value === 'string' ? value : undefined;
}

function httpStatusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null || !('$metadata' in e)) return undefined;
  const metadata: unknown = e.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/**
 * An SDK or network failure as the user can act on it: a missing bucket, credentials the server
 * refused, a denied request, an unreachable endpoint; anything else with the server's own words.
 * The message never holds a credential (the SDK's never do; values are masked in logs anyway).
 */
export function describeFailure(e: unknown, at: { action: string; bucket: string; key?: string; profile: string; endpoint: string }): ObjectStoreError {
  if (e instanceof ObjectStoreError) return e;
  const name = stringField(e, 'name') ?? stringField(e, 'Code') ?? '';
  const code = stringField(e, 'code') ?? '';
  const cause = e instanceof Error && e.cause !== undefined ? stringField(e.cause, 'code') : undefined;
  const status = httpStatusOf(e);
  const target = `s3://${at.bucket}${at.key ? `/${at.key}` : ''}`;
  const context = `(profile ${at.profile}, ${at.endpoint})`;
  if (name === 'NoSuchBucket') return new ObjectStoreError(`bucket "${at.bucket}" does not exist ${context}`);
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'InvalidClientTokenId'].includes(name)) {
    return new ObjectStoreError(`the server refused the credentials of profile ${at.profile} for bucket "${at.bucket}" (${name}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ${context}`);
  }
  if (name === 'AccessDenied' || status === 403) return new ObjectStoreError(`access denied: profile ${at.profile} may not ${at.action} ${target} ${context}`);
  const networkCode = [code, cause ?? ''].find((c) => NETWORK_CODES.has(c));
  if (networkCode || name === 'TimeoutError' || name === 'RequestTimeout') {
    return new ObjectStoreError(`cannot reach ${at.endpoint} to ${at.action} ${target} (profile ${at.profile}): ${networkCode ?? 'no answer in time'}`);
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ObjectStoreError(`${at.action} ${target} failed ${context}: ${name ? `${name}: ` : ''}${message}`);
}

/** Runs `work` on every item, at most `limit` at once; rejects with the first failure after all settle. */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const lane = async () => {
    while (next < items.length && failures.length === 0) {
      const item = items[next++];
      if (item === undefined) continue;
      try {
        await work(item);
      } catch (e) {
        failures.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failures.length > 0) throw failures[0];
}
