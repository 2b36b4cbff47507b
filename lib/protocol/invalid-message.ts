/**
 * What was wrong with a message that failed validation, for the log of whoever dropped it (the
 * server, the browser, a kernel host). Only where each problem is and zod's description of it are
 * told, never the values: a message may carry a secret (a variable, a block's output).
 */
import { type ZodError } from 'zod';

const MAX_ISSUES = 5;
/** A path through a record names user-chosen keys: long ones are cut so a line stays readable. */
const MAX_SEGMENT = 60;

/** `path: problem; path: problem`, at most five; the message itself is named `message`. */
export function describeIssues(error: ZodError): string {
  const shown = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const where = issue.path.map((p) => (typeof p === 'symbol' ? '(symbol)' : String(p).slice(0, MAX_SEGMENT))).join('.');
    return `${where || 'message'}: ${issue.message}`;
  });
  const more = error.issues.length - shown.length;
  return `${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
}

/**
 * Logs invalid messages, each distinct problem once: a peer that repeats a bad message (or a
 * fuzzer sending thousands) must not flood the log, and the first line already says what to fix.
 * After `maxDistinct` problems it says once that it stops.
 */
export class InvalidMessageLog {
  private readonly seen = new Set<string>();
  private stopped = false;

  constructor(
    /** Who dropped the message and what kind it was, e.g. "gateway: client message". */
    private readonly what: string,
    private readonly warn: (line: string) => void = (line) => console.warn(line),
    private readonly maxDistinct = 50,
  ) {}

  /** A message failed its schema. */
  invalid(error: ZodError): void {
    this.problem(describeIssues(error));
  }

  /** A message was refused before its schema was checked (e.g. it nests too deep). */
  problem(text: string): void {
    if (this.seen.has(text) || this.stopped) return;
    if (this.seen.size >= this.maxDistinct) {
      this.stopped = true;
      this.warn(`${this.what}: more invalid messages were dropped; they are no longer logged`);
      return;
    }
    this.seen.add(text);
    this.warn(`${this.what} dropped as invalid: ${text}`);
  }
}
