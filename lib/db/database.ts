import path from 'node:path';
import { ensureBlocksRole } from './blocks-role';
import { type PostgresCoordinates } from './coordinates';
import { embeddedPostgresRuns, passwordFor, postgresUrl, startEmbeddedPostgres } from './embedded-postgres';

export interface Database {
  url: string;
  coordinates: PostgresCoordinates;
  /** Where it came from, for the start-up line. */
  source: 'DATABASE_URL' | 'embedded';
  /**
   * POSTGRES_* defaults for blocks: the embedded server through the blocks' own login (which cannot
   * read Grimoire's metadata); none for DATABASE_URL, whose credentials are the server's alone.
   */
  kernelEnv: Record<string, string>;
  close(): Promise<void>;
}

function coordinatesOf(url: string): PostgresCoordinates {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('DATABASE_URL is not a valid postgres:// URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error('DATABASE_URL must start with postgres://');
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '') || 'postgres'),
  };
}

/**
 * The Postgres that Grimoire uses: DATABASE_URL when set, else the embedded server whose data
 * lives in the workspace's data folder (`<projects>/.grimoire/postgres`). With `start: false`, an
 * embedded server is only joined when one runs already; null otherwise (starting takes seconds).
 */
export async function openDatabase(workspaceDataDir: string, environment?: NodeJS.ProcessEnv): Promise<Database>;
export async function openDatabase(workspaceDataDir: string, environment: NodeJS.ProcessEnv, options: { start: false }): Promise<Database | null>;
export async function openDatabase(workspaceDataDir: string, environment: NodeJS.ProcessEnv = process.env, options: { start?: boolean } = {}): Promise<Database | null> {
  const external = environment.DATABASE_URL;
  if (external) {
    const coordinates = coordinatesOf(external);
    return { url: postgresUrl(coordinates), coordinates, source: 'DATABASE_URL', kernelEnv: {}, close: async () => undefined };
  }
  const dir = path.join(workspaceDataDir, 'postgres');
  if (options.start === false && !(await embeddedPostgresRuns(dir))) return null;
  const server = await startEmbeddedPostgres(dir);
  try {
    const blocks = await ensureBlocksRole(server.coordinates, await passwordFor(dir, 'blocks-password'));
    return { url: server.url, coordinates: server.coordinates, source: 'embedded', kernelEnv: postgresEnv(blocks), close: () => server.stop() };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/** What blocks see by default, so a profile written with env_var('POSTGRES_HOST') ... reaches this server. */
export function postgresEnv(c: PostgresCoordinates): Record<string, string> {
  return {
    POSTGRES_HOST: c.host,
    POSTGRES_PORT: String(c.port),
    POSTGRES_USER: c.user,
    POSTGRES_PASSWORD: c.password,
    POSTGRES_DBNAME: c.database,
  };
}
