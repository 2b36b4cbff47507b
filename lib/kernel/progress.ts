import { type DuckDBConnection } from '@duckdb/node-api';
import { type BlockProgress } from '../protocol/run-events';

type Phase = BlockProgress['phase'];
type Counts = Omit<BlockProgress, 'phase'>;

/** What IO code gets to say how far it is; a no-op where nobody listens (tests, the CLI's own IO). */
export interface ProgressReport {
  /** Runs `work` as one phase: its counts replace DuckDB's percentage until it ends. */
  track<T>(phase: Phase, work: (update: (counts: Counts) => void) => Promise<T>, options?: { total?: number; duckPercent?: boolean }): Promise<T>;
  /** A one-off fact, e.g. the rows of the output once it is materialised. */
  report(progress: BlockProgress): void;
}

const same = (a: BlockProgress | null, b: BlockProgress | null) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The progress of one running block, sent at most once per interval and only when it changed.
 * Between tracked phases it polls DuckDB for the percentage of the statement running on the
 * block's connection, so a long SQL block moves too.
 */
export class BlockProgressReporter implements ProgressReport {
  private latest: BlockProgress | null = null;
  private sent: BlockProgress | null = null;
  private phase: { phase: Phase; duckPercent: boolean; total?: number } | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly send: (progress: BlockProgress) => void,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (!this.phase || this.phase.duckPercent) {
      const percent = this.duckPercent();
      if (percent !== undefined) {
        this.latest = this.phase ? { phase: this.phase.phase, total: this.phase.total, percent } : { phase: 'query', percent };
      }
    }
    if (this.latest && !same(this.latest, this.sent)) {
      this.sent = this.latest;
      this.send(this.latest);
    }
  }

  private duckPercent(): number | undefined {
    try {
      const p = this.connection.progress.percentage;
      return p >= 0 ? Math.min(100, Math.round(p * 10) / 10) : undefined;
    } catch {
      // A closed connection has no progress; the block is finishing anyway.
      return undefined;
    }
  }

  async track<T>(phase: Phase, work: (update: (counts: Counts) => void) => Promise<T>, options: { total?: number; duckPercent?: boolean } = {}): Promise<T> {
    const mine = { phase, duckPercent: options.duckPercent ?? false, total: options.total };
    this.phase = mine;
    // Nothing to show until a count arrives, except a known total of counted rows: "0 of 266,855 rows".
    if (options.total !== undefined && !mine.duckPercent) this.latest = { phase, rows: 0, total: options.total };
    try {
      return await work((counts) => {
        if (this.phase === mine) this.latest = { ...counts, phase, total: counts.total ?? options.total };
      });
    } finally {
      if (this.phase === mine) this.phase = null;
    }
  }

  report(progress: BlockProgress): void {
    this.latest = progress;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
