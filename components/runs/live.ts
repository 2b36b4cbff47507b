'use client';

import { useEffect, useRef } from 'react';
import { io } from 'socket.io-client';
import { CLIENT_EVENT, serverMessageSchema, SERVER_EVENT, type ClientMessage, type ServerMessage } from '@/lib/protocol/messages';
import { goToSignIn } from '@/components/shared/fetch-json';
import { InvalidMessageLog } from '@/lib/protocol/invalid-message';

type Watch = Extract<ClientMessage, { type: 'watch_run' | 'watch_runs' }>;
export interface RunChange {
  state: boolean;
  logs: boolean;
}
const EVERYTHING: RunChange = { state: true, logs: true };

/** The run pages' dispatcher: they follow stored runs only, so every other message is ignored by name. */
function changeOf(m: ServerMessage): RunChange | null {
  switch (m.type) {
    case 'run_changed':
      return { state: m.state, logs: m.logs };
    case 'error':
    case 'run_status':
    case 'block_status':
    case 'block_progress':
    case 'log':
    case 'output':
    case 'block_error':
    case 'attempt_finished':
    case 'block_runs_added':
    case 'callback':
    case 'kernel_status':
    case 'output_answer':
    case 'pipeline_changed':
    case 'file_changed':
      return null;
    default: {
      const never: never = m;
      return never;
    }
  }
}

/**
 * Calls `onChange` whenever the server pushes that the watched run (or pipeline's runs) changed,
 * and once on every (re)connect to catch up on what happened while away. While the socket is
 * down, it falls back to a slow poll, so a page never stalls.
 */
export function useRunChanges(watch: Watch | null, onChange: (change: RunChange) => void, fallbackMs = 5000): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  const key = watch ? JSON.stringify(watch) : null;
  useEffect(() => {
    if (!key || !watch) return;
    const socket = io({ transports: ['websocket'] });
    let poll: ReturnType<typeof setInterval> | null = null;
    const startPolling = () => {
      poll ??= setInterval(() => latest.current(EVERYTHING), fallbackMs);
    };
    socket.on('connect', () => {
      if (poll) clearInterval(poll);
      poll = null;
      socket.emit(CLIENT_EVENT, watch);
      latest.current(EVERYTHING);
    });
    socket.on('disconnect', startPolling);
    socket.on('connect_error', (e) => {
      if (e.message.startsWith('unauthorized')) goToSignIn();
      startPolling();
    });
    // A message this page cannot read means the server and the page disagree on the protocol: say so in the console.
    const invalidMessages = new InvalidMessageLog('runs page: server message');
    socket.on(SERVER_EVENT, (raw: unknown) => {
      const parsed = serverMessageSchema.safeParse(raw);
      if (!parsed.success) {
        invalidMessages.invalid(parsed.error);
        return;
      }
      const change = changeOf(parsed.data);
      if (change && (watch.type === 'watch_runs' || (parsed.data.type === 'run_changed' && parsed.data.runId === watch.runId))) latest.current(change);
    });
    return () => {
      if (poll) clearInterval(poll);
      socket.close();
    };
    // `key` stands for `watch`: a new object with the same content must not reconnect.
  }, [key, fallbackMs]);
}
