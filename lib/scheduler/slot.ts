import { UserError } from '../errors';
import { type Clock } from './clock';
import { type Scheduler } from './scheduler';
import { type Store } from '../store/store';
import { type Worker } from '../worker/worker';

/** What route handlers and pages use of the running orchestration (type-only: no pg in the Next bundle). */
export interface Orchestration {
  store: Store;
  scheduler: Scheduler | null;
  worker: Worker | null;
  projectsDir: string;
  clock: Clock;
  /** A trigger was created or edited: the scheduler looks again now. */
  triggersChanged(): void;
  close(): Promise<void>;
}

/**
 * Route handlers live in Next's bundle, the orchestration in the custom server's modules: two
 * copies of every module in one process. A global slot is how the handlers reach the one instance.
 */
const SLOT = Symbol.for('grimoire.orchestration');
const slots: Record<symbol, Orchestration | undefined> = globalThis;

export function setOrchestration(o: Orchestration | undefined): void {
  slots[SLOT] = o;
}

export function orchestration(): Orchestration {
  const o = slots[SLOT];
  if (!o) throw new UserError('internal', 'the scheduler and run store are not running in this process (start Grimoire with `grimoire start`)');
  return o;
}
