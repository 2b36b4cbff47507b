/**
 * Failed sign-ins are throttled per key: after a key's free failures within WINDOW_MS, each further
 * attempt waits twice as long as the last (1 s, 2 s, 4 s ... at most 15 minutes) before it is even
 * checked. A success clears its keys. Keys, and their free failures:
 * - `pair:<name>|<address>` (5): one guesser at one account;
 * - `user:<name>` (20): one account guessed from many addresses;
 * - `ip:<address>` (30): start-token links tried from one address.
 * Password sign-in is never throttled per address alone: everyone behind one proxy (or on the
 * loopback bind) shares an address, and one guesser must not lock them all out.
 * In memory: one server's view.
 */
const FREE_FAILURES: Record<string, number> = { pair: 5, user: 20, ip: 30 };
const freeFailures = (key: string) => FREE_FAILURES[key.slice(0, key.indexOf(':'))] ?? 5;

/** At most this many failed sign-ins a minute go to the audit log one by one; the rest are counted. */
const AUDITED_FAILURES_PER_MINUTE = 20;
const WINDOW_MS = 15 * 60 * 1000;
const MAX_WAIT_MS = 15 * 60 * 1000;

interface Failures {
  failures: number;
  first: number;
  last: number;
}

export class SignInThrottle {
  private readonly records = new Map<string, Failures>();

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

  private auditMinute = 0;
  private auditedThisMinute = 0;
  private unaudited = 0;

  /**
   * Whether to write this failed sign-in to the audit log, so a flood of made-up attempts cannot
   * push real entries out of view. `unaudited`: failures left out since the last written one.
   */
  auditFailure(): { write: boolean; unaudited: number } {
    const minute = Math.floor(this.now() / 60_000);
    if (minute !== this.auditMinute) {
      this.auditMinute = minute;
      this.auditedThisMinute = 0;
    }
    if (this.auditedThisMinute >= AUDITED_FAILURES_PER_MINUTE) {
      this.unaudited++;
      return { write: false, unaudited: this.unaudited };
    }
    this.auditedThisMinute++;
    const unaudited = this.unaudited;
    this.unaudited = 0;
    return { write: true, unaudited };
  }
}
