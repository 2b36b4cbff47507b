'use client';
import { useEffect, useReducer, useRef } from 'react';
import { io, type Socket } from 'socket.io-client';
import { CLIENT_EVENT, serverMessageSchema, SERVER_EVENT, type ClientMessage } from '@/lib/protocol/messages';
import { PreviewTable } from './PreviewTable';
import { reduceRun, type BlockView } from './run-state';

interface BlockInfo {
  uuid: string;
  type: string;
  language: string;
  upstream: string[];
  file: string;
}

const idle: BlockView = { status: 'not_run', logs: '' };

export function PipelineRunner({ project, pipeline, blocks }: { project: string; pipeline: string; blocks: BlockInfo[] }) {
  const [state, dispatch] = useReducer(reduceRun, { connected: false, kernel: 'dead', blocks: {} });
  const socket = useRef<Socket | null>(null);

  useEffect(() => {
    const s = io({ transports: ['websocket'] });
    socket.current = s;
    const subscribe: ClientMessage = { type: 'subscribe', project, pipeline };
    s.on('connect', () => {
      dispatch({ type: 'connected', connected: true });
      // After a reconnect the server replays each block's latest state.
      s.emit(CLIENT_EVENT, subscribe);
    });
    s.on('disconnect', () => dispatch({ type: 'connected', connected: false }));
    s.on(SERVER_EVENT, (raw: unknown) => {
      const parsed = serverMessageSchema.safeParse(raw);
      if (parsed.success) dispatch({ type: 'server', message: parsed.data });
    });
    return () => {
      s.disconnect();
    };
  }, [project, pipeline]);

  const send = (message: ClientMessage) => socket.current?.emit(CLIENT_EVENT, message);
  const ref = { project, pipeline };

  return (
    <div>
      <div className="toolbar">
        <button type="button" onClick={() => send({ type: 'run_pipeline', ...ref })} disabled={!state.connected}>
          Run pipeline
        </button>
        <button type="button" onClick={() => send({ type: 'interrupt', ...ref })} disabled={!state.connected}>
          Interrupt
        </button>
        <button type="button" onClick={() => send({ type: 'restart', ...ref })} disabled={!state.connected}>
          Restart kernel
        </button>
        <span className="status" data-testid="connection">
          {state.connected ? `kernel ${state.kernel === 'dead' ? 'not started' : state.kernel}` : 'connecting…'}
        </span>
      </div>
      {state.notice ? (
        <p role="alert" className="error">
          {state.notice}
        </p>
      ) : null}
      {blocks.map((b) => {
        const view = state.blocks[b.uuid] ?? idle;
        return (
          <section key={b.uuid} className="block" data-type={b.type} aria-label={`Block ${b.uuid}`}>
            <header>
              <span className="name">{b.uuid}</span>
              <span className="meta">
                {b.type} · {b.language} · {b.file}
                {b.upstream.length > 0 ? ` · upstream: ${b.upstream.join(', ')}` : ''}
              </span>
              <span className="status" data-status={view.status} data-testid={`status-${b.uuid}`}>
                {view.status.replace('_', ' ')}
                {view.durationMs !== undefined ? ` · ${(view.durationMs / 1000).toFixed(2)} s` : ''}
              </span>
              <button type="button" aria-label={`Run block ${b.uuid}`} onClick={() => send({ type: 'run_block', ...ref, block: b.uuid })} disabled={!state.connected}>
                Run
              </button>
              <button
                type="button"
                aria-label={`Run ${b.uuid} with upstream`}
                onClick={() => send({ type: 'run_with_upstream', ...ref, block: b.uuid })}
                disabled={!state.connected}
              >
                Run with upstream
              </button>
            </header>
            <div className="output">
              {view.logs ? <pre className="logs">{view.logs}</pre> : null}
              {view.error ? (
                <pre className="error" role="alert">
                  {view.error.file ? `${view.error.file}${view.error.line ? `:${view.error.line}` : ''}: ` : ''}
                  {view.error.message}
                </pre>
              ) : null}
              {view.preview ? <PreviewTable block={b.uuid} preview={view.preview} /> : null}
            </div>
          </section>
        );
      })}
    </div>
  );
}
