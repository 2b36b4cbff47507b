import { type DuckDBConnection } from '@duckdb/node-api';

/**
 * DuckDB threads for `running` blocks at once on `cores` cores. Every running query works on
 * its caller's thread plus the shared pool's (threads - 1) workers, so the pool shrinks by one
 * for each block beyond the first: two exports on two cores then get a core each instead of
 * three threads taking turns on two, and the one that waits on Postgres is not starved.
 */
export function threadsFor(cores: number, running: number): number {
  return Math.max(1, cores - Math.max(0, running - 1));
}

/** Keeps DuckDB's thread setting at threadsFor(cores, blocks running), on a connection of its own. */
export class ThreadShare {
  private running = 0;
  private applied: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly cores: number,
    private readonly onError: (e: unknown) => void,
  ) {
    this.applied = cores;
  }

  /** Runs one block's work with its share of the cores counted. */
  async around<T>(work: () => Promise<T>): Promise<T> {
    this.running += 1;
    this.apply();
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.apply();
    }
  }

  private apply(): void {
    const threads = threadsFor(this.cores, this.running);
    if (threads === this.applied) return;
    this.applied = threads;
    // One statement at a time on this connection, in the order the counts changed.
    this.queue = this.queue.then(() => this.connection.run(`SET threads = ${threads}`)).then(
      () => undefined,
      (e: unknown) => this.onError(e),
    );
  }
}
