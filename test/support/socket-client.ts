import { io as connect, type Socket } from 'socket.io-client';
import { CLIENT_EVENT, SERVER_EVENT, serverMessageSchema, type ClientMessage, type ServerMessage } from '../../lib/protocol/messages';

export interface SocketClient {
  send(message: ClientMessage): void;
  /**
   * The next server message `pick` accepts. One wait at a time; `pick` sees every message that
   * arrives while it waits (in order), so it may keep state, e.g. learn a run id, then wait for its end.
   */
  next(pick: (m: ServerMessage) => boolean): Promise<ServerMessage>;
  close(): void;
}

/**
 * A socket as the editor tab opens one (websocket transport), signed in with `token` (the start
 * token or a user's) when given; resolves once connected, rejects with the handshake's refusal.
 */
export async function openSocketClient(url: string, options: { token?: string } = {}): Promise<SocketClient> {
  const socket: Socket = connect(url, { transports: ['websocket'], auth: options.token ? { token: options.token } : {}, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (e) => reject(e));
  });
  let waiting: { pick: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void } | null = null;
  socket.on(SERVER_EVENT, (raw: unknown) => {
    const parsed = serverMessageSchema.safeParse(raw);
    if (parsed.success && waiting?.pick(parsed.data)) {
      const w = waiting;
      waiting = null;
      w.resolve(parsed.data);
    }
  });
  return {
    send: (m) => void socket.emit(CLIENT_EVENT, m),
    next: (pick) => new Promise<ServerMessage>((resolve) => (waiting = { pick, resolve })),
    close: () => void socket.disconnect(),
  };
}
