import { type RunEvent, type RunEventOf, type RunEventType } from '../protocol/run-events';

type Handler<T extends RunEventType> = (event: RunEventOf<T>) => void | Promise<void>;
type AnyHandler = (event: RunEvent) => void | Promise<void>;

/**
 * What a host of the run engine does at each point of a run (n8n's execution lifecycle hooks):
 * the editor broadcasts, the worker writes the store, the CLI prints. Handlers run in the order
 * they were added, one event after the other, so a store sees the run's moves in the order they
 * happened even when its writes are slow.
 *
 * Lifecycle points, by event type: `run_status` running (run started) and final (run finished),
 * `block_status` running with its attempt (block started) and every other move, `log`,
 * `block_progress`, `output`, `block_error`, `attempt_finished`.
 */
export class RunLifecycleHooks {
  private readonly handlers: AnyHandler[] = [];
  /** The events handed over so far, in order; a failed handler's error is kept for the next `emit`. */
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  /** Adds a handler for one kind of event. */
  on<T extends RunEventType>(type: T, handler: Handler<T>): this {
    this.handlers.push((event) => (event.type === type ? handler(event as RunEventOf<T>) : undefined));
    return this;
  }

  /** Adds a handler for every event (a host that forwards them all, e.g. to the browser). */
  onAny(handler: AnyHandler): this {
    this.handlers.push(handler);
    return this;
  }

  /**
   * Hands an event to every handler, after the events before it; resolves when they are done.
   * Rejects with the first error any handler threw since the last call (a store write that failed).
   */
  emit(event: RunEvent): Promise<void> {
    this.post(event);
    return this.drain();
  }

  /**
   * Hands an event over without waiting (logs and progress arrive while a block runs and must not
   * slow it down); an error surfaces at the next `emit`.
   */
  post(event: RunEvent): void {
    this.chain = this.chain.then(async () => {
      for (const handler of this.handlers) {
        try {
          await handler(event);
        } catch (e) {
          this.failure ??= e;
        }
      }
    });
  }

  /** Resolves once every event handed over so far was handled. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Like `settled`, then rejects with the first error a handler threw since the last `emit`. */
  async drain(): Promise<void> {
    await this.chain;
    if (this.failure === null) return;
    const failure = this.failure;
    this.failure = null;
    throw failure;
  }
}
