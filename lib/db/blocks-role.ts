/**
 * The login blocks use on the embedded PostgreSQL. The server's own login is the superuser that
 * owns Grimoire's metadata (users, sessions, secrets, runs); blocks are user code, so they get a
 * login of their own that can create and replace tables in the database but cannot read
 * Grimoire's schemas. Its password is kept beside the data folder (mode 600) like the server's.
 */
import pg from 'pg';
import { type PostgresCoordinates } from './coordinates';

export const BLOCKS_ROLE = 'grimoire_blocks';

/** Schemas that are not the blocks' to take over: Postgres's own and Grimoire's metadata. */
const KEPT_SCHEMAS = `n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'grimoire%'`;

/**
 * Makes (or updates) the blocks' login with `password` and returns its coordinates. Idempotent
 * and safe to race: every process that opens the embedded server runs it. Schemas and tables that
 * blocks made as the superuser before the login existed (the demo's `mage` schema) are handed to it,
 * so a `replace` export keeps working.
 */
export async function ensureBlocksRole(admin: PostgresCoordinates, password: string): Promise<PostgresCoordinates> {
  const client = new pg.Client({ ...admin, connectionTimeoutMillis: 15_000 });
  // A server that breaks the connection between two statements must not throw from the emitter.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DO $$ BEGIN
      CREATE ROLE ${BLOCKS_ROLE} LOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`);
    await client.query(`ALTER ROLE ${BLOCKS_ROLE} WITH LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD ${client.escapeLiteral(password)}`);
    await client.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${client.escapeIdentifier(admin.database)} TO ${BLOCKS_ROLE}`);
    await client.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${BLOCKS_ROLE}`);
    await client.query(`DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT n.nspname FROM pg_namespace n WHERE n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND n.nspname <> 'public' AND ${KEPT_SCHEMAS} LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO ${BLOCKS_ROLE}', r.nspname);
      END LOOP;
      FOR r IN SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND c.relkind IN ('r', 'v', 'm', 'p') AND ${KEPT_SCHEMAS} LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO ${BLOCKS_ROLE}', CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.nspname, r.relname);
      END LOOP;
    END $$`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return { ...admin, user: BLOCKS_ROLE, password };
}
