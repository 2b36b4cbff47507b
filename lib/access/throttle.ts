/**
 * Failed sign-ins are throttled per user name (`user:<name>`) and per client address (`ip:<addr>`):
 * after the free failures within WINDOW_MS, each further attempt waits twice as long as the last
 * (1 s, 2 s, 4 s ... at most 15 minutes) before it is even checked. A success clears its keys.
 * An address gets more free failures than a name: many people may share one (a NAT, a proxy).
 * In memory: one server's view.
 */
const FREE_FAILURES_PER_NAME = 5;
const FREE_FAILURES_PER_ADDRESS = 30;
const freeFailures = (key: string) => (key.startsWith('ip:') ? FREE_FAILURES_PER_ADDRESS : FREE_FAILURES_PER_NAME);
const WINDOW_MS = 15 * 60 * 1000;
const MAX_WAIT_MS = 15 * 60 * 1000;

interface Record {
  failures: number;
  first: number;
  last: number;
}

export class SignInThrottle {
  private readonly records = new Map<string, Record>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds the caller must still wait before trying any of these keys, 0 when it may try now. */
  waitMs(keys: readonly string[]): number {
    let wait = 0;
    const now = this.now();
    for (const key of keys) {
      const r = this.records.get(key);
      if (!r) continue;
      if (now - r.last > WINDOW_MS) {
        this.records.delete(key);
        continue;
      }
      const free = freeFailures(key);
      if (r.failures < free) continue;
      const lock = Math.min(1000 * 2 ** (r.failures - free), MAX_WAIT_MS);
      wait = Math.max(wait, r.last + lock - now);
    }
    return Math.max(0, wait);
  }

  failed(keys: readonly string[]): void {
    const now = this.now();
    for (const key of keys) {
      const r = this.records.get(key);
      if (!r || now - r.last > WINDOW_MS) this.records.set(key, { failures: 1, first: now, last: now });
      else this.records.set(key, { failures: r.failures + 1, first: r.first, last: now });
    }
    // Bounded memory under a flood of made-up names.
    if (this.records.size > 100_000) {
      for (const [key, r] of this.records) if (now - r.last > WINDOW_MS) this.records.delete(key);
      if (this.records.size > 100_000) this.records.clear();
    }
  }

  succeeded(keys: readonly string[]): void {
    for (const key of keys) this.records.delete(key);
  }
}
