/**
 * Work worth doing ahead of need (loading the Postgres driver and warming the binary encoder cost
 * this thread ~80 ms), done only when no block pays for it: once a block has kept DuckDB busy for
 * `busyMs` (this thread only waits then), or once the kernel has run nothing for `idleMs`. A chain
 * of quick blocks never stops for it; what it preloads then loads on first use.
 */
export class IdleWarmUp {
  private done = false;
  private timer: NodeJS.Timeout | null = null;
  private running = 0;

  constructor(
    private readonly work: () => void,
    private readonly busyMs = 200,
    private readonly idleMs = 1000,
  ) {
    this.arm();
  }

  blockStarted(): void {
    this.running += 1;
    this.arm();
  }

  blockEnded(): void {
    this.running = Math.max(0, this.running - 1);
    this.arm();
  }

  private arm(): void {
    if (this.done) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.done = true;
        this.timer = null;
        this.work();
      },
      this.running > 0 ? this.busyMs : this.idleMs,
    );
    // Never what keeps the kernel alive.
    this.timer.unref();
  }
}
