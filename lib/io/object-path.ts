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
  if (place !== place.trim()) return `${JSON.stringify(place)}: a path may not start or end with spaces`;
  // Anything that starts like a URL scheme (`s3:/x`, `s3:x`, `gs://x`) is a place elsewhere, never
  // a local folder named `s3:`.
  const m = /^([a-z][a-z0-9+.-]*):(\/\/)?/i.exec(place);
  if (!m) return null;
  const scheme = (m[1] ?? '').toLowerCase();
  if (m[2] === undefined) return `${place}: ${scheme}: without // is not a place Grimoire knows${scheme === 's3' ? `; did you mean s3://${place.slice(3).replace(/^\/+/, '')}?` : ''}`;
  if (scheme === 's3' || (reads && (scheme === 'http' || scheme === 'https'))) return null;
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

/** At most this many alternatives from `{a,b}` groups: a pattern is a name, not a program. */
const MAX_BRACE_EXPANSION = 256;

/** `a{b,c}d` as `abd`, `acd` (nested groups expanded too). Throws ObjectPathError for an unclosed `{`. */
function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    if (pattern.charAt(i) === '{') depth++;
    else if (pattern.charAt(i) === '}' && --depth === 0) {
      close = i;
      break;
    }
  }
  if (close < 0) throw new ObjectPathError(`${pattern}: { without }`);
  const options: string[] = [];
  depth = 0;
  let start = open + 1;
  for (let i = open + 1; i < close; i++) {
    const c = pattern.charAt(i);
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      options.push(pattern.slice(start, i));
      start = i + 1;
    }
  }
  options.push(pattern.slice(start, close));
  const out = options.flatMap((o) => expandBraces(pattern.slice(0, open) + o + pattern.slice(close + 1)));
  if (out.length > MAX_BRACE_EXPANSION) throw new ObjectPathError(`${pattern}: more than ${MAX_BRACE_EXPANSION} alternatives`);
  return out;
}

/** One segment's glob as tokens: a literal character, one character (`?`), `*` or a `[...]` class. */
type GlobToken = { kind: 'char'; c: string } | { kind: 'one' } | { kind: 'star' } | { kind: 'class'; test: (c: string) => boolean };

function tokenize(segment: string, pattern: string): GlobToken[] {
  const out: GlobToken[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charAt(i);
    if (c === '*') {
      if (out[out.length - 1]?.kind !== 'star') out.push({ kind: 'star' });
    } else if (c === '?') out.push({ kind: 'one' });
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) throw new ObjectPathError(`${pattern}: [ without ]`);
      let body = segment.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      const ranges: [string, string][] = [];
      for (let k = 0; k < body.length; k++) {
        const from = body.charAt(k);
        if (body.charAt(k + 1) === '-' && k + 2 < body.length) {
          ranges.push([from, body.charAt(k + 2)]);
          k += 2;
        } else ranges.push([from, from]);
      }
      out.push({ kind: 'class', test: (ch) => ranges.some(([a, b]) => ch >= a && ch <= b) !== negate });
      i = end;
    } else out.push({ kind: 'char', c });
  }
  return out;
}

/** Whether a segment matches its tokens: wildcard matching with one backtrack point (linear-ish, never exponential). */
function segmentMatches(tokens: readonly GlobToken[], text: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const token = tokens[p];
    const ch = text.charAt(t);
    if (token && (token.kind === 'one' || (token.kind === 'char' && token.c === ch) || (token.kind === 'class' && token.test(ch)))) {
      t++;
      p++;
    } else if (token?.kind === 'star') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else return false;
  }
  while (tokens[p]?.kind === 'star') p++;
  return p === tokens.length;
}

/**
 * A matcher of keys for a glob, as DuckDB and shells read them: `**` any number of folders,
 * `*` and `?` within one segment, `[abc]` / `[a-z]` / `[!a]` one of, `{a,b}` either. No pattern
 * makes matching slow (no backtracking regex). Throws ObjectPathError for an unclosed `[` or `{`.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const alternatives = expandBraces(pattern).map((p) => p.split('/').map((segment) => (segment === '**' ? null : tokenize(segment, pattern))));
  const matches = (segments: readonly (GlobToken[] | null)[], parts: readonly string[]): boolean => {
    // reachable[j]: the pattern segments so far can match the first j key segments.
    let reachable: boolean[] = Array.from({ length: parts.length + 1 }, (_, j) => j === 0);
    for (const segment of segments) {
      const next: boolean[] = new Array<boolean>(parts.length + 1).fill(false);
      for (let j = 0; j <= parts.length; j++) {
        if (!reachable[j]) continue;
        if (segment === null) {
          // `**` takes any number of whole segments, none included.
          for (let k = j; k <= parts.length; k++) next[k] = true;
          break;
        }
        if (j < parts.length && segmentMatches(segment, parts[j] ?? '')) next[j + 1] = true;
      }
      reachable = next;
    }
    return reachable[parts.length] === true;
  };
  return (key) => {
    const parts = key.split('/');
    return alternatives.some((segments) => matches(segments, parts));
  };
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
