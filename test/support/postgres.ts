import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { postgresEnv } from '../../lib/db/database';
import { type PostgresCoordinates } from '../../lib/db/coordinates';
import { startEmbeddedPostgres } from '../../lib/db/embedded-postgres';

export interface TestPostgres {
  coordinates: PostgresCoordinates;
  /** A schema made for this test file and dropped by close(). */
  schema: string;
  /** POSTGRES_* for kernels and io_config env_var() lookups. */
  env: Record<string, string>;
  client(): Promise<pg.Client>;
  close(): Promise<void>;
}

function fromUrl(url: string): PostgresCoordinates {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || 'postgres'),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '') || 'postgres'),
  };
}

/**
 * A real Postgres for a test file: TEST_DATABASE_URL when set (CI points it at the machine's
 * server), else an embedded PostgreSQL in a temp folder. Each call gets its own schema.
 */
export async function testPostgres(): Promise<TestPostgres> {
  let coordinates: PostgresCoordinates;
  let stopServer: () => Promise<void> = async () => undefined;
  let folder: string | null = null;
  if (process.env.TEST_DATABASE_URL) {
    coordinates = fromUrl(process.env.TEST_DATABASE_URL);
  } else {
    folder = await mkdtemp(path.join(os.tmpdir(), 'grimoire-pg-'));
    const server = await startEmbeddedPostgres(path.join(folder, 'data'));
    coordinates = server.coordinates;
    stopServer = () => server.stop();
  }
  const client = async () => {
    const c = new pg.Client({ ...coordinates, connectionTimeoutMillis: 10_000 });
    await c.connect();
    return c;
  };
  const schema = `t_${randomBytes(5).toString('hex')}`;
  const admin = await client();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  return {
    coordinates,
    schema,
    env: postgresEnv(coordinates),
    client,
    close: async () => {
      const c = await client();
      // The store's pg-boss queue lives in a schema beside it.
      await c.query(`DROP SCHEMA IF EXISTS ${schema}, ${schema}_queue CASCADE`);
      await c.end();
      await stopServer();
      if (folder) await rm(folder, { recursive: true, force: true });
    },
  };
}

/** An io_config.yaml profile reading POSTGRES_* from the environment (testPostgres().env), with `schema` when given. */
export function postgresProfileYaml(name: string, schema?: string): string {
  const keys = ['HOST', 'PORT', 'USER', 'PASSWORD', 'DBNAME'].map((k) => `  POSTGRES_${k}: "{{ env_var('POSTGRES_${k}') }}"\n`).join('');
  return `${name}:\n${keys}${schema ? `  POSTGRES_SCHEMA: ${schema}\n` : ''}`;
}
