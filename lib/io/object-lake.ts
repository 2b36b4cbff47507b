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
  // While DuckDB writes the local files: the SDK loads, fail checks the prefix, and replace lists
  // the old objects (before anything new exists: exactly these are removed afterwards).
  const ready = (async () => {
    const store = await options.store;
    if (options.writePolicy === 'fail' && (await store.hasAny(bucket, `${prefix}/`))) {
      throw new ObjectStoreError(`${target} already holds objects (write_policy: fail)`);
    }
    return { store, old: options.writePolicy === 'replace' ? await store.list(bucket, `${prefix}/`) : [] };
  })();
  // Awaited below; until then a rejection must not count as unhandled.
  ready.catch(() => undefined);
  await fs.mkdir(options.stagingRoot, { recursive: true });
  // Named after this process, so a crash's leftover is removed at the next start (leftovers.ts).
  const staging = path.join(options.stagingRoot, `s3-export-${randomBytes(4).toString('hex')}.tmp-${writerTag()}`);
  await fs.mkdir(staging, { recursive: true });
  const partitionBy = options.partitionBy ?? [];
  const copyOptions = [`FORMAT parquet`, `COMPRESSION ${options.compression ?? 'zstd'}`];
  if (partitionBy.length > 0) copyOptions.push(`PARTITION_BY (${partitionBy.map(quoteIdentifier).join(', ')})`, `FILENAME_PATTERN 'part_{uuid}'`);
  const uploads = new UploadQueue(
    ready.then((r) => r.store),
    bucket,
  );
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
      await ready;
    } catch (e) {
      // Whatever failed (a COPY, an upload, the listing): nothing new may stay in the bucket.
      await uploads.settle().catch(() => undefined);
      const store = await options.store.catch(() => null);
      const stray = store ? await store.remove(bucket, uploads.uploaded) : uploads.uploaded;
      const left = stray.length > 0 ? `; these new objects could not be removed: ${stray.map((k) => urlOf(bucket, k)).join(', ')}` : '';
      const message = e instanceof Error ? e.message : String(e);
      throw new ObjectStoreError(uploads.uploaded.length > 0 || !(e instanceof ObjectStoreError) ? `${message} (the lake at ${target} was left as it was${left})` : message);
    }
    const { store, old } = await ready;
    if (old.length > 0) {
      const fresh = new Set(uploads.uploaded);
      const stale = await store.remove(
        bucket,
        old.map((o) => o.key).filter((k) => !fresh.has(k)),
      );
      if (stale.length > 0) {
        throw new ObjectStoreError(`${target}: the new objects are written, but ${stale.length} old object(s) could not be removed and would be read twice: ${stale.map((k) => urlOf(bucket, k)).join(', ')}`);
      }
    }
    return { rows, files: uploads.uploaded.length, bytes: uploads.bytes };
  } finally {
    await plan.cleanup().catch(() => undefined);
    await fs.rm(staging, { recursive: true, force: true });
  }
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
  }
  // Folder markers some tools write (`prefix/`) are not data.
  found = found.filter((o) => !o.key.endsWith('/'));
  if (found.length === 0) throw new ObjectStoreError(`no objects match ${urlOf(bucket, key)}`);
  return found.sort((a, b) => a.key.localeCompare(b.key)).map((o) => ({ ...o, partitions: hivePartitions(o.key, root === '.' ? '' : root) }));
}

/**
 * Local copies of `objects`, downloaded in parallel into `cacheDir` unless the cache holds the same
 * ETag already. A key's copy is named `<etag>--<name>` inside folders that mirror the key, so hive
 * partitions read from the path, and an object that changed is downloaded again (its old copy removed).
 */
export async function fetchObjects(store: ObjectStore, bucket: string, objects: readonly PartitionedObject[], cacheDir: string, endpoint: string): Promise<FetchedObjects> {
  const home = path.join(cacheDir, createHash('sha1').update(endpoint).digest('hex').slice(0, 12), bucket);
  let downloaded = 0;
  let cached = 0;
  const files = objects.map((o) => cachePathOf(home, o.key, o.etag));
  await eachLimited(
    objects.map((o, i) => ({ o, file: files[i] ?? '' })),
    TRANSFER_CONCURRENCY,
    async ({ o, file }) => {
      const have = await fs.stat(file).then(
        (s) => s.size === o.size,
        () => false,
      );
      if (have) {
        cached++;
        return;
      }
      await fs.mkdir(path.dirname(file), { recursive: true });
      await store.download(bucket, o.key, file);
      downloaded++;
      // Older copies of the same key are stale now.
      const name = path.basename(file);
      const suffix = name.slice(name.indexOf('--'));
      for (const sibling of await fs.readdir(path.dirname(file))) {
        if (sibling !== name && sibling.endsWith(suffix) && /^[A-Za-z0-9-]+--/.test(sibling)) await fs.rm(path.join(path.dirname(file), sibling), { force: true });
      }
    },
  );
  return { files, hive: objects.some((o) => Object.keys(o.partitions).length > 0), downloaded, cached };
}

/**
 * Where the cache keeps object `key` below `home`: folders that mirror the key (hive partitions
 * read from the path) and `<etag>--<name>`. A key is the bucket's text, not a path: segments that
 * a path would read as `.`, `..`, nothing or a root are escaped, so no key writes outside `home`.
 */
export function cachePathOf(home: string, key: string, etag: string): string {
  const segment = (s: string) => (s === '' ? '%' : s === '.' || s === '..' ? s.replaceAll('.', '%2E') : s.replaceAll('\\', '%5C'));
  const parts = key.split('/').map(segment);
  const name = parts.pop() ?? '%';
  const tag = etag.replace(/[^A-Za-z0-9-]/g, '') || 'none';
  return path.join(home, ...parts, `${tag}--${name}`);
}

/** A partition value's DuckDB type, as DuckDB's hive autocast reads it: dates, whole numbers, else text. */
function partitionType(values: readonly string[]): 'DATE' | 'BIGINT' | 'VARCHAR' {
  if (values.every((v) => /^\d{4}-\d{2}-\d{2}$/.test(v))) return 'DATE';
  if (values.every((v) => /^-?\d{1,18}$/.test(v))) return 'BIGINT';
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
  const result = await duck.runAndReadAll(`SELECT "__object" FROM (SELECT ${typed} FROM (VALUES ${rows.join(', ')}) AS listing(${names})) WHERE ${where}`);
  const keep = new Set(result.getRowsJS().map((r) => Number(r[0])));
  return objects.filter((_, i) => keep.has(i));
}
