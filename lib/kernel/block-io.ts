import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Destination } from '../pipeline/destination';
import { quoteIdentifier } from '../sql-quote';
import { parseIoConfig, requireDuckdb, requirePostgres, secretsOf, type IoProfile } from '../io/io-config';
import { exportToDuckDb } from '../io/duckdb-export';
import { rememberSecrets } from './secrets';
import { exportParquet, lakeQuery } from '../io/lake';
import { connectPostgres } from '../io/postgres-client';
import { exportToPostgres } from '../io/postgres-export';
import { loadPostgresQuery } from '../io/postgres-load';
import { isUrl, readQuery, resolveSources, SourceError } from '../io/sources';
import { isObjectUrl, unsupportedScheme } from '../io/object-path';
import { exportLakeToObjects, readObjects } from './object-io';
import { type BlockIo, type DataFrame, type Query } from './block-api';
import { describe, Frame, type QuerySession, SqlQuery } from './frames';
import { type ProgressReport } from './progress';
import { databaseAlias, type ProfileDatabases } from './profile-database';

export interface IoPlaces {
  projectDir: string;
  dataDir: string;
  /** Profile databases (DUCKDB_DATABASE), attached while blocks use them. */
  databases: ProfileDatabases;
}

/**
 * The project's io_config.yaml profiles, read fresh for each block (edits apply on the next run);
 * none without the file. `secrets` (name -> value) answer mage_secret_var(). Throws IoConfigError.
 */
export async function loadProfiles(projectDir: string, environment: NodeJS.ProcessEnv, secrets: Readonly<Record<string, string>> = {}): Promise<Map<string, IoProfile>> {
  let text: string;
  try {
    // Read at every block, usually a miss: synchronously, a small file costs microseconds, where
    // the promise API's four thread-pool trips cost a quarter of a millisecond per block.
    text = readFileSync(path.join(projectDir, 'io_config.yaml'), 'utf8');
  } catch {
    return new Map();
  }
  const profiles = parseIoConfig(text, environment, secrets);
  rememberSecrets(secretsOf(profiles));
  return profiles;
}

/** Rows an export will write, when the source is a frame whose size is known without running anything. */
function knownRows(data: DataFrame | Query): number | undefined {
  return data instanceof Frame ? data.rowCount : undefined;
}

function sourceOf(data: DataFrame | Query): string {
  if (data instanceof Frame) return data.table;
  if (data instanceof SqlQuery) return data.toString();
  throw new Error('export takes a DataFrame or a ctx.sql query');
}

async function withPostgres<T>(profiles: ReadonlyMap<string, IoProfile>, profile: string, work: (client: import('pg').Client, schema: string) => Promise<T>): Promise<T> {
  const config = requirePostgres(profiles, profile);
  const client = await connectPostgres(config, profile);
  try {
    return await work(client, config.schema);
  } finally {
    // The goodbye is the server's business: the block's work is done (or failed) either way.
    void client.end().catch(() => undefined);
  }
}

export function makeBlockIo(session: QuerySession, places: IoPlaces, profiles: ReadonlyMap<string, IoProfile>, progress: ProgressReport): BlockIo {
  return {
    read: async (source, options) => {
      const list = typeof source === 'string' ? [source] : [...source];
      const objects = list.filter(isObjectUrl);
      if (objects.length > 0) {
        if (objects.length < list.length) throw new SourceError('read takes s3:// objects or other sources, not both in one call: read each and UNION them');
        const parts = [];
        for (const url of objects) {
          const read = await progress.track('download', () =>
            readObjects(session.connection, url, { profile: options?.profile ?? 'default', where: options?.where }, profiles, places.dataDir, (files, hive) => readQuery(files, options, hive)),
          );
          parts.push(read.query);
        }
        return new SqlQuery(parts.length === 1 ? (parts[0] ?? '') : parts.map((q) => `(${q})`).join(' UNION ALL BY NAME '));
      }
      const downloads = path.join(places.dataDir, 'downloads');
      // Only URLs are a download; local files are read where they are.
      const files = list.some(isUrl)
        ? await progress.track('download', (update) => resolveSources(list, places.projectDir, downloads, (bytes) => update({ bytes })))
        : await resolveSources(list, places.projectDir, downloads);
      return new SqlQuery(readQuery(files, options));
    },
    postgres: (profile = 'default') => ({
      query: (sql) =>
        withPostgres(profiles, profile, async (client) => {
          const name = session.nextTempName();
          const loaded = await progress.track('postgres_load', (update) => loadPostgresQuery(client, sql, session.connection, name, true, (rows) => update({ rows })));
          warnTextNumerics(loaded.textColumns);
          return Frame.open(session, quoteIdentifier(name));
        }),
      export: (data, options) =>
        withPostgres(profiles, profile, (client, schema) =>
          progress.track(
            'postgres_export',
            (update) =>
              exportToPostgres(session.connection, sourceOf(data), client, {
                schema: options.schema ?? schema,
                table: options.table,
                writePolicy: options.writePolicy ?? 'replace',
                uniqueConstraints: options.uniqueConstraints,
                onRows: (rows) => update({ rows }),
                sourceRows: knownRows(data),
              }),
            { total: knownRows(data) },
          ),
        ),
    }),
    duckdb: (profile = 'default') => {
      const within = async <T>(work: (database: string) => Promise<T>): Promise<T> => {
        const file = path.resolve(places.projectDir, requireDuckdb(profiles, profile));
        return places.databases.with(session.connection, file, profile, () => work(databaseAlias(file)));
      };
      return {
        query: (sql) => within(() => session.query(sql)),
        export: (data, options) =>
          within((database) =>
            exportToDuckDb(session.connection, sourceOf(data), {
              database,
              schema: options.schema ?? 'main',
              table: options.table,
              writePolicy: options.writePolicy ?? 'replace',
            }),
          ),
      };
    },
    parquet: {
      export: (data, options) =>
        exportLake(session, sourceOf(data), knownRows(data), { ...options, writePolicy: options.writePolicy ?? 'replace', profile: options.profile ?? 'default', sourceIsTable: data instanceof Frame }, places, profiles, progress),
    },
    lake: (folder) => {
      if (isObjectUrl(folder)) throw new SourceError(`ctx.io.lake(${JSON.stringify(folder)}): a lake in a bucket is read with await ctx.io.read('${folder.replace(/\/+$/, '')}/**/*.parquet')`);
      const refused = unsupportedScheme(folder, false);
      if (refused) throw new SourceError(refused);
      return new SqlQuery(lakeQuery(path.resolve(places.projectDir, folder)));
    },
  };
}

/**
 * Writes a Parquet lake: a folder of the project, or `s3://bucket/prefix` with the profile's keys.
 * Any other URL (gs://, file://, http://) is refused, never written to a local folder named after it.
 */
function exportLake(
  session: QuerySession,
  source: string,
  rows: number | undefined,
  options: { path: string; profile: string; partitionBy?: string[]; compression?: 'snappy' | 'zstd' | 'gzip' | 'uncompressed'; writePolicy: 'replace' | 'append' | 'fail'; sourceIsTable: boolean },
  places: IoPlaces,
  profiles: ReadonlyMap<string, IoProfile>,
  progress: ProgressReport,
): Promise<{ rows: number; files: number }> {
  const refused = unsupportedScheme(options.path, false);
  if (refused) return Promise.reject(new SourceError(refused));
  const write = isObjectUrl(options.path)
    ? () => exportLakeToObjects(session.connection, source, options.path, options, profiles, places.dataDir)
    : () => exportParquet(session.connection, source, { ...options, path: path.resolve(places.projectDir, options.path) });
  return progress.track('parquet_export', write, { total: rows, duckPercent: true });
}

/** Writes a finished block's output to its declared destination; returns a line for the block's log. */
export async function writeDestination(
  session: QuerySession,
  output: { table: string; rowCount: number },
  destination: Destination,
  places: IoPlaces,
  profiles: ReadonlyMap<string, IoProfile>,
  progress: ProgressReport,
): Promise<string> {
  const { table, rowCount } = output;
  // A block that returned no rows returned no columns either: replacing a table or a lake with
  // that would lose its columns. Say so, and leave the destination as it was.
  if (rowCount === 0 && (await describe(session.connection, table)).columns.length === 0) {
    const where = destination.type === 'postgres' ? `${destination.schema ?? 'the profile schema'}.${destination.table}` : destination.path;
    return `nothing exported: the output has no rows and no columns; ${where} was left as it was`;
  }
  switch (destination.type) {
    case 'postgres': {
      const { result, into } = await withPostgres(profiles, destination.profile, async (client, profileSchema) => {
        const into = destination.schema ?? profileSchema;
        const result = await progress.track(
          'postgres_export',
          (update) =>
            exportToPostgres(session.connection, table, client, {
              schema: into,
              table: destination.table,
              writePolicy: destination.write_policy,
              uniqueConstraints: destination.unique_constraints,
              onRows: (rows) => update({ rows }),
              sourceRows: rowCount,
            }),
          { total: rowCount },
        );
        return { result, into };
      });
      return `exported ${result.rows} rows to Postgres ${into}.${destination.table} (${destination.write_policy}, profile ${destination.profile}, ${result.format} COPY)`;
    }
    case 'parquet': {
      const result = await exportLake(
        session,
        table,
        rowCount,
        { path: destination.path, profile: destination.profile, partitionBy: destination.partition_by, compression: destination.compression, writePolicy: destination.write_policy, sourceIsTable: true },
        places,
        profiles,
        progress,
      );
      return `exported ${result.rows} rows to ${destination.path} (${result.files} Parquet ${isObjectUrl(destination.path) ? 'objects' : 'files'}, ${destination.write_policy}${isObjectUrl(destination.path) ? `, profile ${destination.profile}` : ''})`;
    }
    default: {
      const never: never = destination;
      throw new Error(`unknown destination ${JSON.stringify(never)}`);
    }
  }
}

/** Said in the block's log: a numeric column no DECIMAL holds exactly stays text rather than being rounded. */
export function warnTextNumerics(columns: readonly string[]): void {
  if (columns.length === 0) return;
  console.log(`warning: ${columns.join(', ')} ${columns.length === 1 ? 'is a' : 'are'} Postgres numeric that no DECIMAL holds exactly (NaN, infinity or more than 38 digits): kept as text, not rounded`);
}
