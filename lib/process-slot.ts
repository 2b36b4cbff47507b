/**
 * The one hand-over between the custom server and Next's route handlers, and the only use of
 * `globalThis` in lib/.
 *
 * Why it is needed: route handlers run in Next's bundle, the server's objects live in the custom
 * server's modules, so one process holds two copies of every module and a module-level variable
 * set by one copy is unseen by the other. A slot on globalThis, keyed by a registered symbol, is
 * how both copies reach the one instance.
 *
 * Its users, each of which owns one slot, sets it once at start and clears it at shutdown:
 * - lib/scheduler/slot.ts: the orchestration (store, scheduler, worker), set by the orchestrator;
 * - lib/access/context.ts: the access layer, set by lib/server/start.ts;
 * - lib/server/broadcast.ts: the socket broadcast, set by the gateway;
 * - lib/cli/early-kernel.ts: `grimoire run`'s kernel, started by bin/grimoire.js from a small
 *   bundle of its own and taken by the CLI's bundle (the same two-copies problem).
 * Anything else a route handler needs is reached through one of these, not through a new slot,
 * and no other module keeps server state in a module-level variable.
 */
export interface ProcessSlot<T> {
  /** Hands the instance over (undefined: the service stopped). */
  set(value: T | undefined): void;
  /** The instance handed over, or undefined when none runs in this process. */
  get(): T | undefined;
}

/** The slot `grimoire.<name>`: the same one from either copy of the module graph. */
export function processSlot<T>(name: string): ProcessSlot<T> {
  const key = Symbol.for(`grimoire.${name}`);
  const slots: Record<symbol, T | undefined> = globalThis;
  return {
    set: (value) => {
      slots[key] = value;
    },
    get: () => slots[key],
  };
}
