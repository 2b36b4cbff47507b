import { type ServerMessage } from '../protocol/messages';
import { processSlot } from '../process-slot';

type Broadcast = (message: Extract<ServerMessage, { project: string; pipeline: string }>) => void;

/** How an HTTP save (in Next's bundle) tells the open tabs (the socket server's): see lib/process-slot.ts. */
const slot = processSlot<Broadcast>('broadcast');

export function setBroadcast(broadcast: Broadcast | undefined): void {
  slot.set(broadcast);
}

/** Tells every tab that has the pipeline open; a no-op when no socket server runs (tests, CLI). */
export function broadcast(message: Parameters<Broadcast>[0]): void {
  slot.get()?.(message);
}
