/**
 * Starts the embedded PostgreSQL on the data folder given as the only argument, prints
 * `postgres <port>` and waits to be killed: a stand-in for a server that crashes while it owns the
 * database. Usage: node --import tsx test/support/postgres-owner.ts <dataDir>
 */
import { startEmbeddedPostgres } from '../../lib/db/embedded-postgres';

async function main(): Promise<void> {
  const dataDir = process.argv[2];
  if (!dataDir) throw new Error('usage: postgres-owner.ts <dataDir>');
  const server = await startEmbeddedPostgres(dataDir);
  process.stdout.write(`postgres ${server.coordinates.port}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
