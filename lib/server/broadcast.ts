import { type ServerMessage } from '../protocol/messages';

type Broadcast = (message: Extract<ServerMessage, { project: string; pipeline: string }>) => void;

/**
 * Route handlers live in Next's bundle, the socket.io server in the custom server's modules: two
 * copies of every module, one process. A global slot is how an HTTP save tells the open tabs.
 */
const SLOT = Symbol.for('grimoire.broadcast');
const slots: Record<symbol, Broadcast | undefined> = globalThis;

export function setBroadcast(broadcast: Broadcast | undefined): void {
  slots[SLOT] = broadcast;
}

/** Tells every tab that has the pipeline open; a no-op when no socket server runs (tests, CLI). */
export function broadcast(message: Parameters<Broadcast>[0]): void {
  slots[SLOT]?.(message);
}
