import { promises as fs } from 'node:fs';
import { type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';
import { commitOutput, outputDraft, outputFile } from './output-files';

export class MissingUpstreamError extends Error {
  constructor(readonly upstream: string[]) {
    super(
      `upstream block${upstream.length > 1 ? 's' : ''} ${upstream.map((u) => `"${u}"`).join(', ')} ha${upstream.length > 1 ? 've' : 's'} no output yet: ` +
        `run ${upstream.length > 1 ? 'them' : 'it'} first, or use "run with upstream"`,
    );
    this.name = 'MissingUpstreamError';
  }
}

/** A block's output could not be written to its Parquet file: the block is not completed. */
export class OutputNotSavedError extends Error {
  constructor(uuid: string, cause: unknown) {
    super(`could not save the output of ${uuid} as Parquet: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'OutputNotSavedError';
  }
}

/**
 * How an output sits in DuckDB: a table of its rows, or a view that reads rows stored elsewhere
 * (a Parquet file of an earlier kernel, or an upstream table passed through).
 */
export type OutputKind = 'table' | 'view';

/**
 * Block outputs of one pipeline inside the kernel's DuckDB: a table (in a one-shot run, a
 * pass-through exporter's view) per block named by its uuid, so SQL can name upstreams directly.
 * Each output is also kept as Parquet in the data directory; after a kernel restart (or in
 * another process) an output is a view over that file, read lazily.
 */
export class OutputStore {
  private readonly kinds = new Map<string, OutputKind>();
  /**
   * The outputs each view output reads. DuckDB does not stop a DROP of a table a view
   * reads, so a released output a live view still reads is kept (`heldForViews`) until that view goes.
   */
  private readonly readsOf = new Map<string, readonly string[]>();
  /** Released outputs still read by a view of this kernel: dropped once no view reads them. */
  private readonly heldForViews = new Set<string>();
  // One connection serves every block of the kernel, so its transactions must not interleave.
  private lock: Promise<unknown> = Promise.resolve();

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.lock.then(work, work);
    this.lock = next.catch(() => undefined);
    return next;
  }

  /**
   * The Parquet copy of each block's latest output, kept once settled so that durable() still
   * sees a failure; each rejects with OutputNotSavedError.
   */
  private readonly persisting = new Map<string, Promise<void>>();
  /** Connections that only ever run our own COPY statements: reused rather than opened per copy. */
  private readonly copiers: DuckDBConnection[] = [];

  constructor(
    /** Where outputs are kept as Parquet for later runs and other processes; null keeps none. */
    private readonly cacheDir: string | null,
    private readonly connection: DuckDBConnection,
    /** A fresh connection for background work, so it never waits on (or blocks) the control connection. */
    private readonly connect: () => Promise<DuckDBConnection>,
  ) {}

  /** The Parquet file of a block's output; a uuid that is not a plain name (`../x`) is refused by the path guard. */
  cacheFile(uuid: string): string | null {
    return this.cacheDir === null ? null : outputFile(this.cacheDir, uuid);
  }

  /** Whether outputs are copied to Parquet files (a view output would then be read to be copied). */
  get keepsCopies(): boolean {
    return this.cacheDir !== null;
  }

  /** How the output `uuid` sits in this kernel's DuckDB; undefined when it is not here (yet). */
  kindOf(uuid: string): OutputKind | undefined {
    return this.kinds.get(uuid);
  }

  /** Makes each upstream's output visible as a table or view; says which have none. */
  resolve(uuids: readonly string[]): Promise<void> {
    // Upstreams published in this kernel are there already: nothing to wait for behind a release
    // or a copy on the control connection (nothing releases an output a block is about to read).
    if (uuids.every((u) => this.kinds.has(u))) return Promise.resolve();
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
      await this.connection.run(`CREATE OR REPLACE VIEW ${quoteIdentifier(uuid)} AS SELECT * FROM read_parquet(${quoteLiteral(file)})`);
      this.kinds.set(uuid, 'view');
    }
    if (missing.length > 0) throw new MissingUpstreamError(missing);
  }

  /**
   * Puts a finished block's table in place of its previous output and starts its Parquet copy.
   * Downstream blocks of this kernel read the table at once; `durable(uuid)` waits for the copy,
   * which a block's completion must (a crash after "completed" must not lose the output).
   */
  async publish(uuid: string, stagingTable: string, kind: OutputKind = 'table', reads: readonly string[] = []): Promise<void> {
    // A re-run must not drop the table its previous Parquet copy is still reading.
    await this.persisting.get(uuid)?.catch(() => undefined);
    await this.exclusive(() => this.publishNow(uuid, stagingTable, kind));
    if (kind === 'table') this.readsOf.delete(uuid);
    else this.readsOf.set(uuid, reads);
    if (this.cacheDir === null) return;
    const copy = this.persist(uuid);
    // Its failure is reported by durable(); a copy nobody waits for must not be an unhandled rejection.
    copy.catch(() => undefined);
    this.persisting.set(uuid, copy);
  }

  /**
   * Resolves once the output `uuid` published last is in its Parquet file (fsynced and renamed into
   * place); at once without a cache folder. Throws OutputNotSavedError if the copy failed.
   */
  async durable(uuid: string): Promise<void> {
    await this.persisting.get(uuid);
  }

  /** Waits until every output is persisted (failures were reported to their blocks). */
  async flush(): Promise<void> {
    await Promise.all([...this.persisting.values()].map((p) => p.catch(() => undefined)));
  }

  private async publishNow(uuid: string, staging: string, kind: OutputKind): Promise<void> {
    const name = quoteIdentifier(uuid);
    const previous = this.kinds.get(uuid);
    const rename = `ALTER ${kind === 'table' ? 'TABLE' : 'VIEW'} ${quoteIdentifier(staging)} RENAME TO ${name}`;
    if (previous === undefined) {
      // Nothing to replace (the first output of this block in this kernel): one statement, not four.
      await this.connection.run(rename);
      this.kinds.set(uuid, kind);
      return;
    }
    // One call (DuckDB runs the statements in order, stopping at the first error): a third of
    // the time of four round trips, which every re-run of a block pays.
    try {
      await this.connection.run(`BEGIN TRANSACTION; ${dropStatement(previous, name)}; ${rename}; COMMIT`);
    } catch (e) {
      // The previous output stays: the failed statement left the transaction open, unless BEGIN itself failed.
      await this.connection.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
    this.kinds.set(uuid, kind);
  }

  private async persist(uuid: string): Promise<void> {
    const file = this.cacheFile(uuid);
    if (this.cacheDir === null || file === null) return;
    const draft = outputDraft(file);
    try {
      await fs.mkdir(this.cacheDir, { recursive: true });
      // A connection of its own: the copy never waits on (or blocks) the control connection.
      const connection = this.copiers.pop() ?? (await this.connect());
      try {
        await connection.run(`COPY ${quoteIdentifier(uuid)} TO ${quoteLiteral(draft)} (FORMAT parquet)`);
        this.copiers.push(connection);
      } catch (e) {
        // A connection whose statement failed (an interrupt) is not trusted again.
        connection.closeSync();
        throw e;
      }
      await commitOutput(draft, file);
    } catch (e) {
      // The draft may not even be reachable (the folder is a file): the first error is the one to tell.
      await fs.rm(draft, { force: true }).catch(() => undefined);
      throw new OutputNotSavedError(uuid, e);
    }
  }

  /**
   * Drops outputs nothing will read again (a one-shot run's, once their last downstream block
   * finished): their rows stop taking DuckDB's memory and disk while the rest of the run goes on.
   */
  async release(uuids: readonly string[]): Promise<void> {
    await this.exclusive(async () => {
      for (const uuid of uuids) this.heldForViews.add(uuid);
      // Until nothing more goes: a dropped view frees the outputs it read for the next pass.
      for (let dropped = true; dropped; ) {
        dropped = false;
        for (const uuid of this.heldForViews) {
          const readByView = [...this.readsOf].some(([view, reads]) => view !== uuid && this.kinds.has(view) && reads.includes(uuid));
          if (readByView) continue;
          await this.persisting.get(uuid)?.catch(() => undefined);
          const kind = this.kinds.get(uuid);
          if (kind !== undefined) await this.connection.run(dropStatement(kind, quoteIdentifier(uuid)));
          this.kinds.delete(uuid);
          this.persisting.delete(uuid);
          this.readsOf.delete(uuid);
          this.heldForViews.delete(uuid);
          dropped = true;
        }
      }
    });
  }

  /** Drops what a failed block left under its staging name (DuckDB refuses DROP TABLE of a view). */
  async dropStaging(staging: string, kind: OutputKind = 'table'): Promise<void> {
    await this.connection.run(dropStatement(kind, quoteIdentifier(staging)));
  }
}

/** The DROP ... IF EXISTS of an output of `kind` named `quotedName` (DuckDB refuses DROP TABLE of a view). */
function dropStatement(kind: OutputKind, quotedName: string): string {
  return `DROP ${kind === 'table' ? 'TABLE' : 'VIEW'} IF EXISTS ${quotedName}`;
}
