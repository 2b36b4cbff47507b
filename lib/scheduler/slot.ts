import { UserError } from '../errors';
import { processSlot } from '../process-slot';
import { type Clock } from '../clock';
import { type RetentionSweeper } from '../retention/sweeper';
import { type Scheduler } from './scheduler';
import { type Store } from '../store/store';
import { type Worker } from '../worker/worker';

/** What route handlers and pages use of the running orchestration (type-only: no pg in the Next bundle). */
export interface Orchestration {
  store: Store;
  scheduler: Scheduler | null;
  worker: Worker | null;
  /** The retention sweeper of a process with the scheduler role; absent (or null) elsewhere. */
  retention?: RetentionSweeper | null;
  projectsDir: string;
  clock: Clock;
  /** A trigger was created or edited: the scheduler looks again now. */
  triggersChanged(): void;
  close(): Promise<void>;
}

/** How route handlers (Next's bundle) reach the one orchestration: see lib/process-slot.ts. */
const slot = processSlot<Orchestration>('orchestration');

export function setOrchestration(o: Orchestration | undefined): void {
  slot.set(o);
}

export function orchestration(): Orchestration {
  const o = slot.get();
  if (!o) throw new UserError('internal', 'the scheduler and run store are not running in this process (start Grimoire with `grimoire start`)');
  return o;
}
