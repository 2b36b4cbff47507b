import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { safeJoin } from '../access/path-guard';
import { quoteIdentifier } from '../pipeline/sql-template';

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export class MissingUpstreamError extends Error {
  constructor(readonly upstream: string[]) {
    super(
      `upstream block${upstream.length > 1 ? 's' : ''} ${upstream.map((u) => `"${u}"`).join(', ')} ha${upstream.length > 1 ? 've' : 's'} no output yet: ` +
        `run ${upstream.length > 1 ? 'them' : 'it'} first, or use "run with upstream"`,
    );
    this.name = 'MissingUpstreamError';
  }
}

/**
 * Block outputs of one pipeline inside the kernel's DuckDB: a table per block named by its uuid,
 * so SQL can name upstreams directly. Each output is also kept as Parquet in the data directory;
 * after a kernel restart (or in another process) an output is a view over that file, read lazily.
 */
export class OutputStore {
  private readonly kinds = new Map<string, 'table' | 'view'>();
  // One connection serves every block of the kernel, so its transactions must not interleave.
  private lock: Promise<unknown> = Promise.resolve();

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.lock.then(work, work);
    this.lock = next.catch(() => undefined);
    return next;
  }

  /** Parquet copies being written in the background, by block. */
  private readonly persisting = new Map<string, Promise<void>>();

  constructor(
    /** Where outputs are kept as Parquet for later runs and other processes; null keeps none. */
    private readonly cacheDir: string | null,
    private readonly connection: DuckDBConnection,
    /** A fresh connection for background work, so it never waits on (or blocks) the control connection. */
    private readonly connect: () => Promise<DuckDBConnection>,
  ) {}

  /** The Parquet file of a block's output; a uuid that is not a plain name (`../x`) is refused by the path guard. */
  cacheFile(uuid: string): string | null {
    return this.cacheDir === null ? null : safeJoin(this.cacheDir, `${uuid}.parquet`);
  }

  /** Makes each upstream's output visible as a table or view; says which have none. */
  resolve(uuids: readonly string[]): Promise<void> {
    return this.exclusive(() => this.resolveNow(uuids));
  }

  private async resolveNow(uuids: readonly string[]): Promise<void> {
    const missing: string[] = [];
    for (const uuid of uuids) {
      if (this.kinds.has(uuid)) continue;
      const file = this.cacheFile(uuid);
      try {
        if (file === null) throw new Error('no output cache');
        await fs.access(file);
      } catch {
        missing.push(uuid);
        continue;
      }
      await this.connection.run(`CREATE OR REPLACE VIEW ${quoteIdentifier(uuid)} AS SELECT * FROM read_parquet(${sqlString(file)})`);
      this.kinds.set(uuid, 'view');
    }
    if (missing.length > 0) throw new MissingUpstreamError(missing);
  }

  /** Puts a finished block's table in place of its previous output, then persists it. */
  async publish(uuid: string, stagingTable: string): Promise<void> {
    // A re-run must not drop the table its previous Parquet copy is still reading.
    await this.persisting.get(uuid);
    await this.exclusive(() => this.publishNow(uuid, stagingTable));
    if (this.cacheDir === null) return;
    // The Parquet copy is for later runs and other processes; downstream blocks read the table,
    // so they need not wait for it. flush() waits for every copy (before the kernel exits).
    const copy: Promise<void> = this.persist(uuid)
      .catch((e: unknown) => {
        process.stderr.write(`kernel: could not cache ${uuid} as Parquet: ${e instanceof Error ? e.message : String(e)}\n`);
      })
      .finally(() => {
        if (this.persisting.get(uuid) === copy) this.persisting.delete(uuid);
      });
    this.persisting.set(uuid, copy);
  }

  /** Waits until every output is persisted. */
  async flush(): Promise<void> {
    while (this.persisting.size > 0) await Promise.all(this.persisting.values());
  }

  private async publishNow(uuid: string, stagingTable: string): Promise<void> {
    const name = quoteIdentifier(uuid);
    const previous = this.kinds.get(uuid);
    await this.connection.run('BEGIN TRANSACTION');
    try {
      if (previous === 'view') await this.connection.run(`DROP VIEW IF EXISTS ${name}`);
      if (previous === 'table') await this.connection.run(`DROP TABLE IF EXISTS ${name}`);
      await this.connection.run(`ALTER TABLE ${quoteIdentifier(stagingTable)} RENAME TO ${quoteIdentifier(uuid)}`);
      await this.connection.run('COMMIT');
    } catch (e) {
      await this.connection.run('ROLLBACK');
      throw e;
    }
    this.kinds.set(uuid, 'table');
  }

  private async persist(uuid: string): Promise<void> {
    const file = this.cacheFile(uuid);
    if (this.cacheDir === null || file === null) return;
    await fs.mkdir(this.cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const connection = await this.connect();
    try {
      await connection.run(`COPY ${quoteIdentifier(uuid)} TO ${sqlString(tmp)} (FORMAT parquet)`);
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    } finally {
      connection.closeSync();
    }
  }

  /**
   * Drops outputs nothing will read again (a one-shot run's, once their last downstream block
   * finished): their rows stop taking DuckDB's memory and disk while the rest of the run goes on.
   */
  async release(uuids: readonly string[]): Promise<void> {
    await this.exclusive(async () => {
      for (const uuid of uuids) {
        await this.persisting.get(uuid);
        const kind = this.kinds.get(uuid);
        if (kind === 'table') await this.connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(uuid)}`);
        if (kind === 'view') await this.connection.run(`DROP VIEW IF EXISTS ${quoteIdentifier(uuid)}`);
        this.kinds.delete(uuid);
      }
    });
  }

  async dropStaging(stagingTable: string): Promise<void> {
    await this.connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(stagingTable)}`);
  }
}
