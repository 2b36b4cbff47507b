import type pg from 'pg';
import { type PostgresProfile } from './io-config';

export class PostgresConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresConnectError';
  }
}

/**
 * Loads the Postgres driver in the background (~50 ms of module loading), so the first export or
 * query does not wait for it; meant for when the process would otherwise sit waiting on DuckDB.
 */
export function preloadPostgresDriver(): void {
  import('pg').catch(() => undefined);
}

/**
 * Connects with the profile's bounded timeout, so an unreachable host fails in seconds with a
 * message naming the host (never the password).
 */
export async function connectPostgres(profile: PostgresProfile, profileName: string): Promise<pg.Client> {
  // Loaded on first use: most blocks never touch Postgres, and every kernel start would pay ~60 ms.
  const { default: Pg } = await import('pg');
  const client = new Pg.Client({
    host: profile.host,
    port: profile.port,
    database: profile.database,
    user: profile.user,
    password: profile.password,
    connectionTimeoutMillis: profile.connectTimeoutMs,
    ssl: profile.ssl === 'disable' ? false : { rejectUnauthorized: profile.ssl === 'verify-full' },
    application_name: 'grimoire',
  });
  // A dropped connection must not crash the kernel; the next query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    const reason = e instanceof Error ? e.message : String(e);
    throw new PostgresConnectError(
      `cannot connect to Postgres at ${profile.host}:${profile.port}/${profile.database} as ${profile.user} (profile ${profileName}): ${reason}`,
    );
  }
  return client;
}

