/**
 * The Parquet lake in object storage: the same hive-partitioned layout as a local lake
 * (`prefix/<col>=<value>/part_<uuid>.parquet`), written by DuckDB into a local staging folder and
 * uploaded in parallel; and objects read back through a local cache keyed by ETag.
 */
import { randomBytes, createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';
import { writerTag } from '../project/leftovers';
import { listFilesRecursive, type LakeWritePolicy } from './lake';
import { globMatcher, hivePartitions, isGlob, listPrefix, type ObjectLocation } from './object-path';
import { eachLimited, ObjectStoreError, TRANSFER_CONCURRENCY, type ObjectStore, type StoredObject } from './object-store';

export interface ObjectLakeExport {
  /** Where the lake goes; `key` is its folder (no trailing slash). */
  location: ObjectLocation;
  partitionBy?: string[];
  compression?: 'snappy' | 'zstd' | 'gzip' | 'uncompressed';
  writePolicy: LakeWritePolicy;
  /** A local folder for the files DuckDB writes before they are uploaded. */
  stagingRoot: string;
  /** The store, possibly still opening (loading the SDK): DuckDB starts writing meanwhile. */
  store: Promise<ObjectStore>;
}

const urlOf = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** One COPY of the export: DuckDB writes its files into `dir`. */
interface CopyStep {
  sql: string;
  dir: string;
}

/** Partition groups to write one after another, so the uploads of one overlap the next's writing. */
const COPY_GROUPS = 4;
/** Below this many partitions one COPY is cheaper than the overlap gains. */
const MIN_PARTITIONS_TO_SPLIT = 8;

/**
 * The COPY statements of an export. A stored table with many partitions is written in
 * COPY_GROUPS groups of whole partitions (each partition in exactly one group, so object names
 * never clash); a query is run once, in one COPY (running it per group would repeat its work).
 */
async function planCopies(duck: DuckDBConnection, source: string, sourceIsTable: boolean, partitionBy: readonly string[], staging: string, options: string[]): Promise<{ steps: CopyStep[]; cleanup: () => Promise<void> }> {
  const single = (dir: string, to: string): CopyStep => ({ sql: `COPY (SELECT * FROM ${source}) TO ${quoteLiteral(to)} (${options.join(', ')})`, dir });
  if (partitionBy.length === 0) return { steps: [single(staging, path.join(staging, `part_${randomBytes(8).toString('hex')}.parquet`))], cleanup: async () => undefined };
  if (!sourceIsTable) return { steps: [single(staging, staging)], cleanup: async () => undefined };
  const cols = partitionBy.map(quoteIdentifier).join(', ');
  const groups = quoteIdentifier(`__grimoire_partition_groups_${randomBytes(4).toString('hex')}`);
  await duck.run(`CREATE TEMP TABLE ${groups} AS SELECT ${cols}, (dense_rank() OVER (ORDER BY ${cols}) - 1) AS "__rank" FROM (SELECT DISTINCT ${cols} FROM ${source})`);
  const cleanup = () => duck.run(`DROP TABLE IF EXISTS ${groups}`).then(() => undefined);
  const counted = (await duck.runAndReadAll(`SELECT count(*)::INTEGER FROM ${groups}`)).getRowsJS()[0]?.[0];
  const partitions = typeof counted === 'number' ? counted : 0;
  if (partitions < MIN_PARTITIONS_TO_SPLIT) return { steps: [single(staging, staging)], cleanup };
  const on = partitionBy.map((c) => `s.${quoteIdentifier(c)} IS NOT DISTINCT FROM g.${quoteIdentifier(c)}`).join(' AND ');
  const steps = Array.from({ length: COPY_GROUPS }, (_, group) => {
    const dir = path.join(staging, `group-${group}`);
    return { sql: `COPY (SELECT s.* FROM ${source} AS s JOIN ${groups} AS g ON ${on} AND g."__rank" * ${COPY_GROUPS} // ${partitions} = ${group}) TO ${quoteLiteral(dir)} (${options.join(', ')})`, dir };
  });
  return { steps, cleanup };
}

/**
 * Uploads queued files, at most TRANSFER_CONCURRENCY at once, as they are queued: files of one
 * COPY go up while DuckDB writes the next. The first failure stops it (queued files are dropped).
 */
class UploadQueue {
  private readonly queue: { file: string; key: string }[] = [];
  private readonly lanes = new Set<Promise<void>>();
  readonly uploaded: string[] = [];
  /** Every key an upload started for: a server may keep an object whose answer never arrived. */
  readonly attempted: string[] = [];
  bytes = 0;
  failure: { error: unknown } | null = null;

  constructor(
    private readonly store: Promise<ObjectStore>,
    private readonly bucket: string,
  ) {}

  add(items: readonly { file: string; key: string }[]): void {
    this.queue.push(...items);
    while (this.lanes.size < TRANSFER_CONCURRENCY && this.lanes.size < this.queue.length) {
      const lane: Promise<void> = this.lane().finally(() => this.lanes.delete(lane));
      this.lanes.add(lane);
    }
  }

  private async lane(): Promise<void> {
    try {
      const store = await this.store;
      for (let item = this.queue.shift(); item && !this.failure; item = this.queue.shift()) {
        this.attempted.push(item.key);
        this.bytes += await store.upload(this.bucket, item.key, item.file);
        this.uploaded.push(item.key);
      }
    } catch (e) {
      this.failure ??= { error: e };
      this.queue.length = 0;
    }
  }

  /** Waits for every upload in flight; throws the first failure. */
  async settle(): Promise<void> {
    while (this.lanes.size > 0) await Promise.all([...this.lanes]);
    if (this.failure) throw this.failure.error;
  }
}

/**
 * Writes `source` (a table, `sourceIsTable`, or a query) as Parquet under `s3://bucket/prefix`.
 * replace uploads every new object first and removes the old ones after, so a reader listing the
 * prefix never finds a partition missing or half written; a failure part-way removes the new
 * objects it uploaded and leaves the old ones as they were (keys it could not remove are named in
 * the error). append adds uniquely named objects; fail refuses when the prefix holds any object.
 * Resolves with rows written, objects uploaded and their bytes. Throws ObjectStoreError.
 */
export async function exportParquetToObjects(duck: DuckDBConnection, source: string, options: ObjectLakeExport & { sourceIsTable: boolean }): Promise<{ rows: number; files: number; bytes: number }> {
  const { bucket, key: prefix } = options.location;
  const target = urlOf(bucket, prefix);
  // While DuckDB writes the local files the SDK loads. `fail` looks at the prefix first: nothing
  // is written for a lake that must not be.
  const storeReady = options.store;
  // Awaited below; until then a rejection must not count as unhandled.
  storeReady.catch(() => undefined);
  if (options.writePolicy === 'fail' && (await (await storeReady).hasAny(bucket, `${prefix}/`))) {
    throw new ObjectStoreError(`${target} already holds objects (write_policy: fail)`);
  }
  // replace removes exactly what was there before it wrote anything (listed while DuckDB writes).
  const before = options.writePolicy === 'replace' ? storeReady.then((store) => store.list(bucket, `${prefix}/`)) : Promise.resolve([]);
  before.catch(() => undefined);
  await fs.mkdir(options.stagingRoot, { recursive: true });
  // Named after this process, so a crash's leftover is removed at the next start (leftovers.ts).
  const staging = path.join(options.stagingRoot, `s3-export-${randomBytes(4).toString('hex')}.tmp-${writerTag()}`);
  await fs.mkdir(staging, { recursive: true });
  const partitionBy = options.partitionBy ?? [];
  const copyOptions = [`FORMAT parquet`, `COMPRESSION ${options.compression ?? 'zstd'}`];
  if (partitionBy.length > 0) copyOptions.push(`PARTITION_BY (${partitionBy.map(quoteIdentifier).join(', ')})`, `FILENAME_PATTERN 'part_{uuid}'`);
  const uploads = new UploadQueue(storeReady, bucket);
  const plan = await planCopies(duck, source, options.sourceIsTable, partitionBy, staging, copyOptions);
  try {
    let rows = 0;
    try {
      for (const step of plan.steps) {
        const result = await duck.runAndReadAll(step.sql);
        const count = result.getRowsJS()[0]?.[0];
        rows += typeof count === 'bigint' ? Number(count) : typeof count === 'number' ? count : 0;
        if (uploads.failure) break;
        const files = await listFilesRecursive(step.dir).catch(() => []);
        uploads.add(files.map((f) => ({ file: path.join(step.dir, f), key: `${prefix}/${f.split(path.sep).join('/')}` })));
      }
      await uploads.settle();
      await before;
    } catch (e) {
      // Whatever failed (a COPY, an upload): nothing new may stay in the bucket, including an
      // object the server kept although its answer was an error.
      await uploads.settle().catch(() => undefined);
      const store = await storeReady.catch(() => null);
      const stray = store ? await store.remove(bucket, uploads.attempted) : uploads.attempted.map((key) => ({ key, reason: 'no connection' }));
      const left = stray.length > 0 ? `; these new objects could not be removed: ${describeLeft(bucket, stray)}` : '';
      const message = e instanceof Error ? e.message : String(e);
      throw new ObjectStoreError(uploads.attempted.length > 0 || !(e instanceof ObjectStoreError) ? `${message} (the lake at ${target} was left as it was${left})` : message);
    }
    if (options.writePolicy === 'replace') {
      const store = await storeReady;
      const fresh = new Set(uploads.uploaded);
      const old = (await before).map((o) => o.key).filter((k) => !fresh.has(k));
      const kept = await store.remove(bucket, old);
      if (kept.length > 0) {
        throw new ObjectStoreError(`${target}: the new objects are written, but ${kept.length} old object(s) could not be removed and would be read twice: ${describeLeft(bucket, kept)}`);
      }
      // Objects neither old nor ours: another export wrote this lake meanwhile. Removing them could
      // empty the lake (each would remove the other's), so say it; the next replace makes it whole.
      const gone = new Set(old);
      const others = (await store.list(bucket, `${prefix}/`)).filter((o) => !fresh.has(o.key) && !gone.has(o.key));
      if (others.length > 0) {
        throw new ObjectStoreError(`another export wrote ${target} while this one ran (${others.length} object(s) not its own): the lake holds both; run the export again to replace it whole`);
      }
    }
    return { rows, files: uploads.uploaded.length, bytes: uploads.bytes };
  } finally {
    await plan.cleanup().catch(() => undefined);
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** Objects left behind, with the server's reason for the first few. */
function describeLeft(bucket: string, left: readonly { key: string; reason: string }[]): string {
  const shown = left.slice(0, 5).map((l) => `${urlOf(bucket, l.key)} (${l.reason})`);
  return `${shown.join(', ')}${left.length > shown.length ? ` and ${left.length - shown.length} more` : ''}`;
}

/** What a read of objects matched, downloaded into the cache. */
export interface FetchedObjects {
  /** Local copies, one per object, in key order; hive partition folders kept in their paths. */
  files: string[];
  /** True when the keys hold hive partitions (`col=value/`). */
  hive: boolean;
  downloaded: number;
  cached: number;
}

/** An object with its hive partitions, for pruning. */
export interface PartitionedObject extends StoredObject {
  partitions: Record<string, string>;
}

/**
 * The objects `pattern` names: a glob over keys (`lake/**\/*.parquet`), one object's key, or a
 * folder (every object below it). Throws ObjectStoreError when nothing matches.
 */
export async function matchObjects(store: ObjectStore, pattern: ObjectLocation): Promise<PartitionedObject[]> {
  const { bucket, key } = pattern;
  let found: StoredObject[];
  let root: string;
  if (isGlob(key)) {
    const prefix = listPrefix(key);
    const matches = globMatcher(key);
    found = (await store.list(bucket, prefix)).filter((o) => matches(o.key));
    root = prefix.replace(/\/$/, '');
  } else {
    found = (await store.list(bucket, key)).filter((o) => o.key === key || key === '' || o.key.startsWith(`${key}/`));
    root = found.length === 1 && found[0]?.key === key ? path.posix.dirname(key) : key;
    if (root === key) {
      // A folder: the markers and notes tools leave beside the data (Spark's _SUCCESS, .crc
      // files, a README) are not data, and the data must be of one format.
      found = found.filter((o) => !/^[_.]/.test(path.posix.basename(o.key)) && !/\.(txt|md|crc)$/i.test(o.key));
      const formats = [...new Set(found.map((o) => dataFormatOf(o.key)))];
      if (formats.length > 1) {
        throw new ObjectStoreError(`${urlOf(bucket, key)} holds objects of several formats (${formats.join(', ')}): read one with a glob, e.g. ${urlOf(bucket, key)}/**/*.${formats[0] === 'csv' ? 'csv' : formats[0]}`);
      }
    }
  }
  // Folder markers some tools write (`prefix/`) are not data.
  found = found.filter((o) => !o.key.endsWith('/'));
  if (found.length === 0) throw new ObjectStoreError(`no objects match ${urlOf(bucket, key)}`);
  return found.sort((a, b) => a.key.localeCompare(b.key)).map((o) => ({ ...o, partitions: hivePartitions(o.key, root === '.' ? '' : root) }));
}

/** The reader an object's name calls for (compression suffixes aside). */
function dataFormatOf(key: string): string {
  const name = key.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (name.endsWith('.parquet')) return 'parquet';
  if (/\.(json|ndjson|jsonl)$/.test(name)) return 'json';
  return 'csv';
}

/**
 * Local copies of `objects`, downloaded in parallel into `cacheDir` unless the cache holds the same
 * ETag already. A key's copy is named `<etag>--<name>` inside folders that mirror the key, so hive
 * partitions read from the path, and an object that changed is downloaded again (its old copy removed).
 */
export async function fetchObjects(
  store: ObjectStore,
  bucket: string,
  objects: readonly PartitionedObject[],
  cacheDir: string,
  endpoint: string,
  /** Every object of the listing the read matched (before pruning): copies of others are stale. */
  listed?: readonly StoredObject[],
): Promise<FetchedObjects> {
  const home = path.join(cacheDir, createHash('sha1').update(endpoint).digest('hex').slice(0, 12), bucket);
  let downloaded = 0;
  let cached = 0;
  const files = objects.map((o) => cachePathOf(home, o.key, o.etag));
  await eachLimited(
    objects.map((o, i) => ({ o, file: files[i] ?? '' })),
    TRANSFER_CONCURRENCY,
    async ({ o, file }) => {
      // Without an ETag nothing tells a changed object from the cached one: downloaded again.
      const have =
        o.etag !== '' &&
        (await fs.stat(file).then(
          (s) => s.size === o.size,
          () => false,
        ));
      if (have) {
        cached++;
        return;
      }
      await fs.mkdir(path.dirname(file), { recursive: true });
      await store.download(bucket, o.key, file);
      downloaded++;
    },
  );
  await forgetStale(files, listed ?? objects, home);
  return { files, hive: objects.some((o) => Object.keys(o.partitions).length > 0), downloaded, cached };
}

/**
 * Removes cached copies in the folders just read that no listed object has any more (a replaced
 * lake's old objects), so the cache holds one copy per live object, not one per export.
 */
async function forgetStale(files: readonly string[], listed: readonly StoredObject[], home: string): Promise<void> {
  const live = new Set(listed.map((o) => cachePathOf(home, o.key, o.etag)));
  for (const f of files) live.add(f);
  const folders = new Set([...live].map((f) => path.dirname(f)));
  for (const folder of folders) {
    const names = await fs.readdir(folder).catch(() => []);
    for (const name of names) {
      const file = path.join(folder, name);
      if (!live.has(file) && /^[A-Za-z0-9-]+--/.test(name)) await fs.rm(file, { force: true });
    }
  }
}

/**
 * Where the cache keeps object `key` below `home`: folders that mirror the key (hive partitions
 * read from the path) and `<etag>--<name>`. A key is the bucket's text, not a path: segments that
 * a path would read as `.`, `..`, nothing or a root are escaped, so no key writes outside `home`.
 */
export function cachePathOf(home: string, key: string, etag: string): string {
  const segment = (s: string) => (s === '' ? '%' : s === '.' || s === '..' ? s.replaceAll('.', '%2E') : s.replaceAll('\\', '%5C'));
  const parts = key.split('/').map((s) => (Buffer.byteLength(s) > 200 ? shortened(s) : segment(s)));
  const last = parts.pop() ?? '%';
  const tag = etag.replace(/[^A-Za-z0-9-]/g, '').slice(0, 40) || 'none';
  // A file name holds 255 bytes: a long object name keeps its extensions (the reader goes by them).
  const name = Buffer.byteLength(last) > 150 ? shortened(last) : last;
  return path.join(home, ...parts, `${tag}--${name}`);
}

/** A name too long for the file system: a digest of it, with its extensions (`.csv.gz`) kept. */
function shortened(name: string): string {
  const ext = /(\.[A-Za-z0-9]{1,10}){1,2}$/.exec(name)?.[0] ?? '';
  return `${createHash('sha1').update(name).digest('hex')}${ext}`;
}

/** A partition value's DuckDB type, as DuckDB's hive autocast reads it: dates, whole numbers, else text. */
function partitionType(values: readonly string[]): 'DATE' | 'BIGINT' | 'VARCHAR' {
  if (values.every((v) => /^\d{4}-\d{2}-\d{2}$/.test(v))) return 'DATE';
  if (values.every((v) => /^-?\d{1,19}$/.test(v) && BigInt(v) <= 9223372036854775807n && BigInt(v) >= -9223372036854775808n)) return 'BIGINT';
  return 'VARCHAR';
}

/**
 * The objects whose partitions satisfy `where` (SQL over partition columns), decided by DuckDB
 * over the listing alone: objects pruned here are never downloaded. Objects without some column
 * in `where` fail the condition like a NULL does. Throws DuckDB's error for a bad condition.
 */
export async function prunePartitions(duck: DuckDBConnection, objects: readonly PartitionedObject[], where: string): Promise<PartitionedObject[]> {
  const columns = [...new Set(objects.flatMap((o) => Object.keys(o.partitions)))];
  if (objects.length === 0) return [];
  // DuckDB (and Hive) write a NULL partition value as this folder name.
  const valueOf = (o: PartitionedObject, c: string) => {
    const v = o.partitions[c];
    return v === undefined || v === '__HIVE_DEFAULT_PARTITION__' ? null : v;
  };
  const types = new Map(columns.map((c) => [c, partitionType(objects.map((o) => valueOf(o, c)).filter((v): v is string => v !== null))]));
  const rows = objects.map((o, i) => `(${[String(i), ...columns.map((c) => {
    const v = valueOf(o, c);
    return v === null ? 'NULL' : quoteLiteral(v);
  })].join(', ')})`);
  const names = ['"__object"', ...columns.map(quoteIdentifier)].join(', ');
  const typed = ['"__object"', ...columns.map((c) => `TRY_CAST(${quoteIdentifier(c)} AS ${types.get(c) ?? 'VARCHAR'}) AS ${quoteIdentifier(c)}`)].join(', ');
  const sql = `SELECT "__object" FROM (SELECT ${typed} FROM (VALUES ${rows.join(', ')}) AS listing(${names})) WHERE (\n${where}\n)`;
  // One condition: `where` may not carry statements of its own (`p = 1; DROP ...`).
  const statements = await duck.extractStatements(sql).then(
    (e) => e.count,
    () => 0,
  );
  if (statements !== 1) throw new ObjectStoreError(`where ${JSON.stringify(where)} must be one condition over the partition columns (${columns.join(', ') || 'none'})`);
  let result;
  try {
    result = await duck.runAndReadAll(sql);
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    throw new ObjectStoreError(`where ${JSON.stringify(where)} is not a condition over the partition columns (${columns.join(', ') || 'none'}): ${first.replace(/listing\([^)]*\)/g, 'the listing')}`);
  }
  const keep = new Set(result.getRowsJS().map((r) => Number(r[0])));
  return objects.filter((_, i) => keep.has(i));
}
