import { type Server } from 'socket.io';
import { z } from 'zod';
import { SERVER_EVENT, type ServerMessage } from '../protocol/messages';
import { type Store } from '../store/store';

export const runRoom = (runId: string) => `run:${runId}`;
export const runsRoom = (project: string, pipeline: string) => `runs:${project}/${pipeline}`;

// Written by the table triggers of migration 2.
const changeSchema = z.object({ run: z.string(), project: z.string().optional(), pipeline: z.string().optional(), logs: z.boolean().optional() });

function parseChange(payload: string): z.infer<typeof changeSchema> | null {
  try {
    const parsed = changeSchema.safeParse(JSON.parse(payload));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Pushes run changes to the pages that show them: the database rings (NOTIFY from table triggers,
 * whichever process changed the run), and the sockets in the run's room and its pipeline's runs
 * room hear `run_changed`. Changes are folded per run over `foldMs`, so a block printing
 * thousands of lines costs a page a few fetches a second, not thousands.
 */
export async function watchRunChanges(io: Server, store: Store, foldMs = 100): Promise<() => Promise<void>> {
  const pending = new Map<string, { state: boolean; logs: boolean; rooms: Set<string> }>();
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    for (const [runId, change] of pending) {
      const message: ServerMessage = { type: 'run_changed', runId, state: change.state, logs: change.logs };
      io.to([...change.rooms]).emit(SERVER_EVENT, message);
    }
    pending.clear();
  };
  const stop = await store.listen(
    ['run_changes'],
    (_channel, payload) => {
    const change = parseChange(payload);
    if (!change) return;
    const entry = pending.get(change.run) ?? { state: false, logs: false, rooms: new Set([runRoom(change.run)]) };
    // Log inserts say so; the run and block-run triggers send no flag.
    if (change.logs) entry.logs = true;
    else entry.state = true;
    if (change.project && change.pipeline) entry.rooms.add(runsRoom(change.project, change.pipeline));
    pending.set(change.run, entry);
    timer ??= setTimeout(flush, foldMs);
    },
    // Back after the database was away: changes made meanwhile were never announced, so every page
    // watching a run or a pipeline's runs reads again.
    () => {
      for (const room of io.sockets.adapter.rooms.keys()) {
        if (room.startsWith('run:')) {
          const runId = room.slice('run:'.length);
          const message: ServerMessage = { type: 'run_changed', runId, state: true, logs: true };
          io.to(room).emit(SERVER_EVENT, message);
        } else if (room.startsWith('runs:')) {
          const message: ServerMessage = { type: 'run_changed', runId: '', state: true, logs: false };
          io.to(room).emit(SERVER_EVENT, message);
        }
      }
    },
  );
  return async () => {
    if (timer) clearTimeout(timer);
    await stop();
  };
}
