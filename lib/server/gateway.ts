import { type Server, type Socket } from 'socket.io';
import { errorMessage, notFound, UserError } from '../errors';
import { PipelineInvalidError } from '../pipeline/issues';
import { CLIENT_EVENT, clientMessageSchema, SERVER_EVENT, type ClientMessage, type ServerMessage } from '../protocol/messages';
import { listPipelines, projectDir } from '../project/load';
import { setBroadcast } from './broadcast';
import { PipelineSession } from './pipeline-session';
import { runRoom, runsRoom } from './run-watch';

const roomOf = (project: string, pipeline: string) => `pipeline:${project}/${pipeline}`;

/**
 * The socket.io side of the server: validates every message on arrival, answers a malformed one
 * with an error (the server stays up), and dispatches the rest in one exhaustive switch.
 */
export class Gateway {
  private readonly sessions = new Map<string, Promise<PipelineSession>>();

  constructor(
    private readonly io: Server,
    private readonly projectsDir: string,
    /** Environment defaults for kernels (POSTGRES_* of the workspace database). */
    private readonly kernelEnv: Record<string, string> = {},
  ) {
    io.on('connection', (socket) => {
      socket.on(CLIENT_EVENT, (raw: unknown) => void this.receive(socket, raw));
    });
    setBroadcast((m) => io.to(roomOf(m.project, m.pipeline)).emit(SERVER_EVENT, m));
  }

  private reply(socket: Socket, message: ServerMessage): void {
    socket.emit(SERVER_EVENT, message);
  }

  private session(project: string, pipeline: string): Promise<PipelineSession> {
    const key = roomOf(project, pipeline);
    let found = this.sessions.get(key);
    if (!found) {
      found = projectDir(this.projectsDir, project).then(
        (dir) => new PipelineSession(dir, project, pipeline, (m) => this.io.to(key).emit(SERVER_EVENT, m), this.kernelEnv),
      );
      // A failed lookup (unknown project) must not be remembered.
      found.catch(() => this.sessions.delete(key));
      this.sessions.set(key, found);
    }
    return found;
  }

  private async receive(socket: Socket, raw: unknown): Promise<void> {
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.reply(socket, { type: 'error', code: 'invalid_input', message: `malformed message: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')}` });
      return;
    }
    const message = parsed.data;
    try {
      await this.dispatch(socket, message);
    } catch (e) {
      const code = e instanceof UserError ? e.code : e instanceof PipelineInvalidError ? 'invalid_pipeline' : 'internal';
      this.reply(socket, { type: 'error', code, message: errorMessage(e), request: message.type });
    }
  }

  private async dispatch(socket: Socket, message: ClientMessage): Promise<void> {
    switch (message.type) {
      // Stored runs need no kernel session: joining the room is enough (lib/server/run-watch.ts pushes).
      case 'watch_run':
        await socket.join(runRoom(message.runId));
        return;
      case 'watch_runs':
        await socket.join(runsRoom(message.project, message.pipeline));
        return;
      default:
        return this.dispatchToSession(socket, message, await this.session(message.project, message.pipeline));
    }
  }

  private async dispatchToSession(socket: Socket, message: Exclude<ClientMessage, { type: 'watch_run' | 'watch_runs' }>, session: PipelineSession): Promise<void> {
    switch (message.type) {
      case 'subscribe':
        if (!(await listPipelines(session.projectDir)).includes(message.pipeline)) {
          throw notFound(`pipeline "${message.pipeline}" not found in project ${message.project}`);
        }
        await socket.join(roomOf(message.project, message.pipeline));
        for (const m of session.snapshot()) this.reply(socket, m);
        return;
      case 'run_block':
        await session.run({ kind: 'block', block: message.block }, message.variables);
        return;
      case 'run_with_upstream':
        await session.run({ kind: 'with_upstream', block: message.block }, message.variables);
        return;
      case 'run_downstream':
        await session.run({ kind: 'downstream', block: message.block }, message.variables);
        return;
      case 'run_pipeline':
        await session.run({ kind: 'pipeline' }, message.variables);
        return;
      case 'interrupt':
        await session.interrupt();
        return;
      case 'restart':
        await session.restart();
        return;
      case 'query_output': {
        const result = await session.kernel.queryOutput(message.block, message.query);
        this.reply(socket, { type: 'output_answer', project: message.project, pipeline: message.pipeline, block: message.block, requestId: message.requestId, result });
        return;
      }
      default: {
        const never: never = message;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  async close(): Promise<void> {
    setBroadcast(undefined);
    const all = await Promise.allSettled(this.sessions.values());
    await Promise.all(all.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
  }
}
