/**
 * A block's reads and writes of `s3://` places, with the credentials of an io_config.yaml profile:
 * the lake exported to a bucket, objects read back (pruned by partition, cached by ETag).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { requireS3, type IoProfile } from '../io/io-config';
import { type LakeWritePolicy } from '../io/lake';
import { exportParquetToObjects, fetchObjects, matchObjects, prunePartitions } from '../io/object-lake';
import { isObjectUrl, parseLakeUrl, parseObjectUrl, unsupportedScheme } from '../io/object-path';
import { openObjectStore, type ObjectStore } from '../io/object-store';

async function withStore<T>(profiles: ReadonlyMap<string, IoProfile>, profile: string, work: (store: ObjectStore, endpoint: string) => Promise<T>): Promise<T> {
  const s3 = requireS3(profiles, profile);
  const store = await openObjectStore(s3, profile);
  try {
    return await work(store, s3.endpoint ?? `aws:${s3.region}`);
  } finally {
    store.close();
  }
}

/** Where a block's object transfers keep their local files, below the project's data folder. */
export const objectCacheDir = (dataDir: string) => path.join(dataDir, 's3-cache');

/**
 * Writes `source` as a Parquet lake at `url` (`s3://bucket/prefix`) with the profile's keys.
 * Resolves with rows, objects and bytes written. Throws ObjectPathError, IoConfigError or ObjectStoreError.
 */
export async function exportLakeToObjects(
  duck: DuckDBConnection,
  source: string,
  url: string,
  options: { profile: string; partitionBy?: string[]; compression?: 'snappy' | 'zstd' | 'gzip' | 'uncompressed'; writePolicy: LakeWritePolicy; sourceIsTable: boolean },
  profiles: ReadonlyMap<string, IoProfile>,
  dataDir: string,
): Promise<{ rows: number; files: number; bytes: number }> {
  const location = parseLakeUrl(url);
  const store = openObjectStore(requireS3(profiles, options.profile), options.profile);
  try {
    return await exportParquetToObjects(duck, source, { location, partitionBy: options.partitionBy, compression: options.compression, writePolicy: options.writePolicy, stagingRoot: objectCacheDir(dataDir), store, sourceIsTable: options.sourceIsTable });
  } finally {
    await store.then((s) => s.close()).catch(() => undefined);
  }
}

/**
 * The DuckDB query reading the objects `url` names (a glob, a key or a folder) after they are
 * downloaded into the cache: hive partitions become columns, and `where` prunes partitions before
 * any download and filters the rows. `read` turns the local files into the query (the format's reader).
 */
export async function readObjects(
  duck: DuckDBConnection,
  url: string,
  options: { profile: string; where?: string },
  profiles: ReadonlyMap<string, IoProfile>,
  dataDir: string,
  read: (files: readonly string[], hive: boolean) => string,
): Promise<{ query: string; downloaded: number; cached: number }> {
  const location = parseObjectUrl(url);
  return withStore(profiles, options.profile, async (store, endpoint) => {
    const all = await matchObjects(store, location);
    let needed = options.where ? await prunePartitions(duck, all, options.where) : all;
    // A condition no partition meets still answers with the lake's columns: one object, no rows.
    if (needed.length === 0) needed = all.slice(0, 1);
    const fetched = await fetchObjects(store, location.bucket, needed, objectCacheDir(dataDir), endpoint, all);
    const query = read(fetched.files, fetched.hive);
    // On lines of its own: a trailing `-- comment` in it cannot swallow the parenthesis.
    return { query: options.where ? `SELECT * FROM (${query}) WHERE (\n${options.where}\n)` : query, downloaded: fetched.downloaded, cached: fetched.cached };
  });
}

/** `{{ lake('s3://bucket/prefix') }}`: every Parquet object below the prefix (or the whole bucket), partitions as columns. */
export function lakeObjectsPattern(url: string): string {
  const { bucket, key } = parseObjectUrl(url);
  return `s3://${bucket}/${key === '' ? '' : `${key}/`}**/*.parquet`;
}

/**
 * `{{ lake(...) }}` of an SQL block. Rendering is synchronous and a bucket is not, so a lake in a
 * bucket renders as a marker, and `resolve` swaps each marker for the query over its downloaded
 * objects once the text is rendered. Keyword arguments: `where` (SQL over partition columns,
 * pruning downloads) and `profile`. A local folder renders at once (`local`).
 */
export function sqlLakes(local: (folder: string) => string): {
  lake: (folder: unknown, keywords?: unknown) => string;
  /** True when the text named a lake in a bucket (resolve has work to do). */
  inBuckets: () => boolean;
  resolve: (sql: string, duck: DuckDBConnection, profiles: ReadonlyMap<string, IoProfile>, dataDir: string, read: (files: readonly string[], hive: boolean) => string) => Promise<string>;
} {
  // Made on first use: most SQL blocks name no bucket, and pay nothing for this.
  let marker: string | null = null;
  const pending: { token: string; url: string; where?: string; profile: string }[] = [];
  return {
    lake(folder, keywords) {
      const place = String(folder);
      const refused = unsupportedScheme(place, false);
      if (refused) throw new Error(`lake(): ${refused}`);
      if (!isObjectUrl(place)) return `(${local(place)})`;
      const given = typeof keywords === 'object' && keywords !== null ? keywords : {};
      const where: unknown = Reflect.get(given, 'where');
      const profile: unknown = Reflect.get(given, 'profile');
      marker ??= `__grimoire_lake_${randomBytes(6).toString('hex')}`;
      const token = `${marker}_${pending.length}__`;
      pending.push({ token, url: lakeObjectsPattern(place), where: typeof where === 'string' ? where : undefined, profile: typeof profile === 'string' ? profile : 'default' });
      return `(${token})`;
    },
    inBuckets: () => pending.length > 0,
    async resolve(sql, duck, profiles, dataDir, read) {
      let out = sql;
      for (const p of pending) {
        const { query } = await readObjects(duck, p.url, { profile: p.profile, where: p.where }, profiles, dataDir, read);
        out = out.split(p.token).join(query);
      }
      return out;
    },
  };
}
