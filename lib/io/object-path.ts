/**
 * `s3://bucket/key` addresses of the object-storage lake (CONTRACTS.md, "Object storage"): parsing,
 * globs over keys and the hive partitions in a key. Pure.
 */

/** A bucket and a key (a prefix, an object's key or a glob over keys), without a leading slash. */
export interface ObjectLocation {
  bucket: string;
  key: string;
}

export class ObjectPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectPathError';
  }
}

/** True for an `s3://` address (any letter case of the scheme, as AWS tools accept). */
export const isObjectUrl = (s: string): boolean => /^s3:\/\//i.test(s);

/**
 * A message when `place` is a URL Grimoire cannot write or read (gs://, az://, file://, ftp://...),
 * else null. Such a path must fail, never land in a local folder named `gs:`. `reads` says whether
 * http(s) is accepted (a source may be downloaded; a destination cannot be written over HTTP).
 */
export function unsupportedScheme(place: string, reads: boolean): string | null {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(place)?.[1]?.toLowerCase();
  if (!scheme || scheme === 's3' || (reads && (scheme === 'http' || scheme === 'https'))) return null;
  const gcs = scheme === 'gs' || scheme === 'gcs' ? ' (Google Cloud Storage: write s3://<bucket>/... with AWS_ENDPOINT: https://storage.googleapis.com and HMAC keys in the profile)' : '';
  return `${place}: ${scheme}:// is not supported; use a path in the project or s3://<bucket>/<prefix>${reads ? ' or an http(s) URL' : ''}${gcs}`;
}

/**
 * Bucket and key of `s3://bucket/key`. Throws ObjectPathError naming what is wrong: no bucket, a
 * bucket name S3 refuses, a key with `.`/`..` segments or empty segments (`a//b`).
 */
export function parseObjectUrl(url: string): ObjectLocation {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(url);
  if (!m) throw new ObjectPathError(`${url} is not an s3:// address`);
  const bucket = m[1] ?? '';
  const key = (m[2] ?? '').replace(/\/+$/, '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new ObjectPathError(`${url}: "${bucket}" is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)`);
  }
  if (key !== '' && key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new ObjectPathError(`${url}: the key may not hold empty, "." or ".." segments`);
  }
  return { bucket, key };
}

/**
 * The lake a destination writes: `s3://bucket/prefix` with a non-empty prefix, so replace can
 * never empty a whole bucket. Throws ObjectPathError.
 */
export function parseLakeUrl(url: string): ObjectLocation {
  const location = parseObjectUrl(url);
  if (location.key === '') throw new ObjectPathError(`${url}: give a folder in the bucket (s3://${location.bucket}/<prefix>): a lake never takes a whole bucket`);
  if (/[*?[{]/.test(location.key)) throw new ObjectPathError(`${url}: a lake to write is a folder, not a pattern`);
  return location;
}

const GLOB_CHARS = /[*?[{]/;

/** The part of a key pattern before its first glob character, cut at a `/`: what to list. */
export function listPrefix(pattern: string): string {
  const first = pattern.search(GLOB_CHARS);
  if (first < 0) return pattern;
  const cut = pattern.lastIndexOf('/', first);
  return cut < 0 ? '' : pattern.slice(0, cut + 1);
}

/** True when `pattern` holds a glob character (`*`, `?`, `[`, `{`). */
export const isGlob = (pattern: string): boolean => GLOB_CHARS.test(pattern);

/**
 * A matcher of keys for a glob, as DuckDB and shells read them: `**` any number of folders,
 * `*` and `?` within one segment, `[abc]` one of, `{a,b}` either. Throws ObjectPathError for an
 * unclosed `[` or `{`.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '*') {
      if (pattern.charAt(i + 1) === '*') {
        i++;
        // `**/` also matches no folder at all.
        if (pattern.charAt(i + 1) === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new ObjectPathError(`${pattern}: [ without ]`);
      const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else if (c === '{') {
      const end = pattern.indexOf('}', i + 1);
      if (end < 0) throw new ObjectPathError(`${pattern}: { without }`);
      re += `(?:${pattern.slice(i + 1, end).split(',').map(escapeRegExp).join('|')})`;
      i = end;
    } else re += escapeRegExp(c);
  }
  const compiled = new RegExp(`^${re}$`);
  return (key) => compiled.test(key);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The hive partitions of a key below `root` (`pickup_date=2020-10-01/part.parquet` gives
 * { pickup_date: '2020-10-01' }), values URL-decoded as DuckDB writes them.
 */
export function hivePartitions(key: string, root: string): Record<string, string> {
  const relative = root === '' ? key : key.startsWith(`${root}/`) ? key.slice(root.length + 1) : key;
  const out: Record<string, string> = {};
  for (const segment of relative.split('/').slice(0, -1)) {
    const eq = segment.indexOf('=');
    if (eq <= 0) continue;
    const name = segment.slice(0, eq);
    const raw = segment.slice(eq + 1);
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // Not URL-encoded after all: the text as written.
    }
    out[name] = value;
  }
  return out;
}
