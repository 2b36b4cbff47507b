/**
 * `process.exit` inside the kernel: a block may not end the process that runs every block of its
 * pipeline, so a call from a block becomes this error, with one message whether the block called
 * it directly (the block fails with it) or from a timer (see child.ts: the error is uncaught then).
 */
export class BlockExitError extends Error {
  constructor(
    readonly code: number | string | null | undefined,
    /** The run and block whose code made the call (from the kernel's async context). */
    readonly runId: string,
    readonly block: string,
  ) {
    super(`process.exit(${code ?? ''}) was called by block ${block}; blocks must return or throw instead`);
    this.name = 'BlockExitError';
  }
}
