/**
 * Route handlers live in Next's bundle, the server's objects in the custom server's modules: two
 * copies of every module, one process. A slot on globalThis, keyed by a registered symbol, is how
 * both copies reach the one instance (the orchestration, the access layer, the broadcast).
 */
export interface ProcessSlot<T> {
  set(value: T | undefined): void;
  get(): T | undefined;
}

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
