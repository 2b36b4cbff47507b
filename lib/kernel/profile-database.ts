import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';

/**
 * A profile's DUCKDB_DATABASE file, attached for the SQL blocks that run on it. The alias is the
 * file's name without extension, as DuckDB's own ATTACH names it (data/warehouse.duckdb ->
 * warehouse). Blocks read its tables by name, and write into it through the alias.
 */
export function databaseAlias(file: string): string {
  const stem = path.basename(file).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(stem) ? stem : `db_${stem}`;
}

export class ProfileDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileDatabaseError';
  }
}

interface Attachment {
  file: string;
  users: number;
  /** Attach and detach statements for this alias, one at a time in order. */
  queue: Promise<void>;
}

/**
 * Attaches databases for as long as some running block uses them. A DuckDB file is locked by the
 * process that has it open, so it is detached when its last block ends: other tools can open it
 * between runs, and a long-lived editor kernel does not hold it.
 */
export class ProfileDatabases {
  private readonly attached = new Map<string, Attachment>();

  /**
   * Runs `work` with `file` attached and readable by table name on `connection` (block outputs
   * first, then the file's tables). `profile` names the io_config.yaml profile, for errors.
   */
  async with<T>(connection: DuckDBConnection, file: string, profile: string, work: () => Promise<T>): Promise<T> {
    const alias = databaseAlias(file);
    const entry = this.attached.get(alias) ?? { file, users: 0, queue: Promise.resolve() };
    if (entry.file !== file) {
      throw new ProfileDatabaseError(`profile "${profile}" names ${file}, but ${entry.file} is attached as "${alias}" too; give one of the files another name`);
    }
    // The connection's own database (the kernel's outputs), where it returns to afterwards.
    const home = String((await connection.runAndReadAll('SELECT current_database()')).getRowsJS()[0]?.[0] ?? 'memory');
    this.attached.set(alias, entry);
    entry.users += 1;
    try {
      await this.step(entry, async () => {
        await mkdir(path.dirname(file), { recursive: true });
        await connection.run(`ATTACH IF NOT EXISTS ${quoteLiteral(file)} AS ${quoteIdentifier(alias)}`);
      }).catch((e: unknown) => {
        throw new ProfileDatabaseError(`cannot open the DuckDB database ${file} (profile "${profile}", DUCKDB_DATABASE): ${e instanceof Error ? e.message : String(e)}`);
      });
      await connection.run(`SET search_path = '${home}.main,${alias}.main'`);
      return await work();
    } finally {
      // The block goes on with this connection (its output, its preview) after the file is gone;
      // USE sets the search path back to the connection's own database alone.
      await connection.run(`USE ${quoteIdentifier(home)}`).catch(() => undefined);
      entry.users -= 1;
      await this.step(entry, async () => {
        if (entry.users > 0) return;
        await connection.run(`DETACH DATABASE IF EXISTS ${quoteIdentifier(alias)}`);
        // A block that arrived meanwhile keeps the entry: its attach is queued behind this detach.
        if (entry.users === 0) this.attached.delete(alias);
      }).catch(() => undefined);
    }
  }

  private step(entry: Attachment, action: () => Promise<void>): Promise<void> {
    const next = entry.queue.then(action);
    entry.queue = next.catch(() => undefined);
    return next;
  }
}
