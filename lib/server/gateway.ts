import { type Server, type Socket } from 'socket.io';
import { type Principal, roleAllows, withArticle } from '../access/roles';
import { SOCKET_RULES } from '../access/rules';
import { type SocketAccess } from '../access/socket-access';
import { errorMessage, notFound, UserError } from '../errors';
import { PipelineInvalidError } from '../pipeline/issues';
import { describeIssues, InvalidMessageLog } from '../protocol/invalid-message';
import { CLIENT_EVENT, clientMessageSchema, SERVER_EVENT, type ClientMessage, type ServerMessage } from '../protocol/messages';
import { listPipelines, projectDir } from '../project/load';
import { setBroadcast } from './broadcast';
import { outputName } from '../run/fan-out';
import { jsonDepthExceeds } from './request-body';
import { PipelineSession, type RunRecorder } from './pipeline-session';
import { runRoom, runsRoom } from './run-watch';

/** Every tab with the pipeline open, whoever signed it in: told when its files change. */
const pipelineRoom = (project: string, pipeline: string) => `pipeline:${project}/${pipeline}`;
/** One user's tabs of a pipeline: their own kernel's statuses, outputs and logs go only here. */
const userRoom = (userId: string, project: string, pipeline: string) => `user:${userId}:${project}/${pipeline}`;

type SessionMessage = Exclude<ClientMessage, { type: 'watch_run' | 'watch_runs' }>;

export interface GatewayOptions {
  /** Who each socket is; checked at the handshake and again before every message. */
  access: SocketAccess;
  /** Environment defaults for kernels (POSTGRES_* of the workspace database). */
  kernelEnv?: Record<string, string>;
  /** A kernel with no tab open on it and nothing running stops after this long (ms); default 30 min. */
  idleKernelMs?: number;
  /** The workspace's secrets (name -> value) for kernels, read at each run's first block; none when absent. */
  secrets?: () => Promise<Record<string, string>>;
  /** Records every editor run in the run history (kind `editor`); none when absent. */
  recorder?: RunRecorder;
}

interface OpenSession {
  session: Promise<PipelineSession>;
  userId: string;
  project: string;
  pipeline: string;
  /** Last time a tab subscribed or ran something here (ms since epoch). */
  lastUsed: number;
}

/**
 * The socket.io side of the server. A connection is refused without a session or token; every
 * message is validated, then authorised against the one role table with the principal as it
 * stands now, then dispatched in one exhaustive switch. Each user has their own kernel per
 * pipeline: one user's runs, interrupts and restarts never touch another's.
 */
export class Gateway {
  private readonly sessions = new Map<string, OpenSession>();
  /** Who each connected socket acts as, as of its last check. */
  private readonly principals = new WeakMap<Socket, Principal>();
  private readonly reaper: NodeJS.Timeout;
  private readonly access: SocketAccess;
  private readonly kernelEnv: Record<string, string>;
  private readonly idleKernelMs: number;
  /** The sender hears why its message was refused; the server's log keeps it too, for whoever debugs the client. */
  private readonly invalidMessages = new InvalidMessageLog('gateway: client message');

  constructor(
    private readonly io: Server,
    private readonly projectsDir: string,
    private readonly options: GatewayOptions,
  ) {
    this.access = options.access;
    this.kernelEnv = options.kernelEnv ?? {};
    this.idleKernelMs = options.idleKernelMs ?? 30 * 60_000;
    io.use((socket, next) => {
      this.access.authenticate(socket.handshake).then(
        (principal) => {
          if (!principal) return next(new Error('unauthorized: sign in first'));
          this.principals.set(socket, principal);
          next();
        },
        () => next(new Error('unauthorized: sign in first')),
      );
    });
    io.on('connection', (socket) => {
      // Messages of one socket are handled in order (a run after its subscribe).
      let queue = Promise.resolve();
      socket.on(CLIENT_EVENT, (raw: unknown) => {
        queue = queue.then(() => this.receive(socket, raw)).catch((e: unknown) => {
            process.stderr.write(`gateway: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
          });
      });
    });
    setBroadcast((m) => io.to(pipelineRoom(m.project, m.pipeline)).emit(SERVER_EVENT, m));
    this.reaper = setInterval(() => void this.stopIdleKernels(), Math.min(60_000, Math.max(50, this.idleKernelMs / 4)));
    this.reaper.unref();
  }

  private reply(socket: Socket, message: ServerMessage): void {
    socket.emit(SERVER_EVENT, message);
  }

  private principalOf(socket: Socket): Principal | null {
    return this.principals.get(socket) ?? null;
  }

  /** Re-checks every connected socket (after users, sessions or tokens changed) and drops those that ended. */
  async revalidateAll(): Promise<void> {
    const sockets = await this.io.fetchSockets();
    await Promise.all(
      sockets.map(async (remote) => {
        const socket = this.io.sockets.sockets.get(remote.id);
        const principal = socket ? this.principalOf(socket) : null;
        if (!socket || !principal) return;
        const now = await this.access.revalidate(principal, socket.handshake).catch(() => null);
        if (!now) {
          this.reply(socket, { type: 'error', code: 'unauthorized', message: 'your sign-in ended; sign in again' });
          socket.disconnect(true);
        } else {
          this.principals.set(socket, now);
        }
      }),
    );
  }

  private key(userId: string, project: string, pipeline: string): string {
    return `${userId}\u0000${project}/${pipeline}`;
  }

  /** The user's kernel session of a pipeline, made on first use after the pipeline is found. */
  private async openSession(principal: Principal, project: string, pipeline: string): Promise<PipelineSession> {
    const key = this.key(principal.id, project, pipeline);
    const found = this.sessions.get(key);
    if (found) {
      found.lastUsed = Date.now();
      return found.session;
    }
    // Check before any work: a made-up name never starts a kernel.
    const dir = await projectDir(this.projectsDir, project);
    if (!(await listPipelines(dir)).includes(pipeline)) throw notFound(`pipeline "${pipeline}" not found in project ${project}`);
    const again = this.sessions.get(key);
    if (again) return again.session;
    const session = Promise.resolve(
      new PipelineSession(dir, project, pipeline, (m) => this.io.to(userRoom(principal.id, project, pipeline)).emit(SERVER_EVENT, m), this.kernelEnv, principal.id, this.options.secrets, this.options.recorder ?? null),
    );
    this.sessions.set(key, { session, userId: principal.id, project, pipeline, lastUsed: Date.now() });
    return session;
  }

  /** The user's session if one is open: asking about outputs or stopping never starts a kernel. */
  private existingSession(principal: Principal, project: string, pipeline: string): Promise<PipelineSession> | null {
    const found = this.sessions.get(this.key(principal.id, project, pipeline));
    if (!found) return null;
    found.lastUsed = Date.now();
    return found.session;
  }

  private async receive(socket: Socket, raw: unknown): Promise<void> {
    if (jsonDepthExceeds(raw, 64)) {
      this.invalidMessages.problem('it nests deeper than 64 levels');
      this.reply(socket, { type: 'error', code: 'invalid_input', message: 'malformed message: it nests deeper than 64 levels' });
      return;
    }
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.invalidMessages.invalid(parsed.error);
      this.reply(socket, { type: 'error', code: 'invalid_input', message: `malformed message: ${describeIssues(parsed.error)}` });
      return;
    }
    const message = parsed.data;
    const held = this.principalOf(socket);
    const principal = held ? await this.access.revalidate(held, socket.handshake).catch(() => null) : null;
    if (principal) this.principals.set(socket, principal);
    else {
      this.reply(socket, { type: 'error', code: 'unauthorized', message: 'your sign-in ended; sign in again', request: message.type });
      socket.disconnect(true);
      return;
    }
    const needed = SOCKET_RULES[message.type];
    if (!roleAllows(principal.role, needed)) {
      this.reply(socket, { type: 'error', code: 'forbidden', message: `${message.type} needs the ${needed} role; you are ${withArticle(principal.role)}`, request: message.type });
      return;
    }
    try {
      await this.dispatch(socket, principal, message);
    } catch (e) {
      const code = e instanceof UserError ? e.code : e instanceof PipelineInvalidError ? 'invalid_pipeline' : 'internal';
      // Our own failures stay in the server's log; the sender learns only that one happened.
      if (code === 'internal') process.stderr.write(`gateway: ${message.type}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      this.reply(socket, { type: 'error', code, message: code === 'internal' ? 'internal error; the server log has the details' : errorMessage(e), request: message.type });
    }
  }

  private async dispatch(socket: Socket, principal: Principal, message: ClientMessage): Promise<void> {
    switch (message.type) {
      // Stored runs need no kernel session: joining the room is enough (lib/server/run-watch.ts pushes).
      case 'watch_run':
        await socket.join(runRoom(message.runId));
        return;
      case 'watch_runs':
        await projectDir(this.projectsDir, message.project);
        await socket.join(runsRoom(message.project, message.pipeline));
        return;
      default:
        return this.dispatchToSession(socket, principal, message);
    }
  }

  private async dispatchToSession(socket: Socket, principal: Principal, message: SessionMessage): Promise<void> {
    const { project, pipeline } = message;
    switch (message.type) {
      case 'subscribe': {
        const dir = await projectDir(this.projectsDir, project);
        if (!(await listPipelines(dir)).includes(pipeline)) throw notFound(`pipeline "${pipeline}" not found in project ${project}`);
        await socket.join([pipelineRoom(project, pipeline), userRoom(principal.id, project, pipeline)]);
        const open = this.existingSession(principal, project, pipeline);
        if (open) for (const m of (await open).snapshot()) this.reply(socket, m);
        return;
      }
      case 'run_block':
      case 'run_with_upstream':
      case 'run_downstream':
      case 'run_pipeline': {
        const session = await this.openSession(principal, project, pipeline);
        const scope =
          message.type === 'run_pipeline'
            ? ({ kind: 'pipeline' } as const)
            : ({ kind: message.type === 'run_block' ? 'block' : message.type === 'run_with_upstream' ? 'with_upstream' : 'downstream', block: message.block } as const);
        const runId = await session.run(scope, message.variables, { useCache: message.ignoreCache !== true });
        void this.access.audit(principal, 'run_started', `${project}/${pipeline}`, { runId, scope: scope.kind, ...('block' in scope ? { block: scope.block } : {}) }).catch(() => undefined);
        return;
      }
      case 'interrupt':
        await (await this.existingSession(principal, project, pipeline))?.interrupt();
        return;
      case 'restart':
        await (await this.existingSession(principal, project, pipeline))?.restart();
        return;
      case 'query_output': {
        // A kernel (started once the pipeline is found) reloads the user's cached outputs, e.g. after a server restart.
        const session = await this.openSession(principal, project, pipeline);
        // A dynamic child's output is kept under its output name (`load:0` -> `load.0`); a block's is its uuid.
        const result = await session.kernel.queryOutput(outputName(message.block), message.query);
        this.reply(socket, { type: 'output_answer', project, pipeline, block: message.block, requestId: message.requestId, result });
        return;
      }
      default: {
        const never: never = message;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  /** Stops kernels that no tab of their user shows and that run nothing, after idleKernelMs. */
  async stopIdleKernels(now = Date.now()): Promise<number> {
    let stopped = 0;
    for (const [key, open] of this.sessions) {
      if (now - open.lastUsed < this.idleKernelMs) continue;
      const watchers = this.io.sockets.adapter.rooms.get(userRoom(open.userId, open.project, open.pipeline))?.size ?? 0;
      const session = await open.session;
      if (watchers > 0 || session.busy) {
        open.lastUsed = now;
        continue;
      }
      this.sessions.delete(key);
      await session.close();
      stopped++;
    }
    return stopped;
  }

  /** How many kernel sessions are open (for tests and the idle check). */
  get openSessions(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    clearInterval(this.reaper);
    setBroadcast(undefined);
    const all = await Promise.allSettled([...this.sessions.values()].map((s) => s.session));
    this.sessions.clear();
    await Promise.all(all.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
  }
}
