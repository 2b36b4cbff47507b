import { type ServerMessage } from '@/lib/protocol/messages';
import { type BlockError, type BlockProgress, type OutputPreview } from '@/lib/protocol/run-events';
import { type BlockRunStatus } from '@/lib/run/states';

export interface BlockView {
  status: BlockRunStatus | 'not_run';
  durationMs?: number;
  startedAt?: number;
  logs: string;
  preview?: OutputPreview;
  error?: BlockError;
  /** What the kernel last said about the running block; cleared when its status changes. */
  progress?: BlockProgress;
  /** Why the block run was skipped (condition_failed): which conditional said no, or that an upstream was skipped. */
  skipped?: string;
}

export interface RunState {
  connected: boolean;
  kernel: 'idle' | 'busy' | 'starting' | 'dead';
  blocks: Record<string, BlockView>;
  /** A dynamic block's children in the latest run (`<uuid>:<key>`), by the block they are runs of. */
  children: Record<string, string[]>;
  /** Callbacks that threw in the latest run, by block run: `notify.onFailure: message`. */
  callbackErrors: Record<string, string[]>;
}

export type RunAction = { type: 'server'; message: ServerMessage } | { type: 'connected'; connected: boolean };

const MAX_LOG = 200_000;
const empty = (): BlockView => ({ status: 'not_run', logs: '' });

/** Applies one server message to the page state: the browser side's one exhaustive dispatcher. */
export function reduceRun(state: RunState, action: RunAction): RunState {
  if (action.type === 'connected') return { ...state, connected: action.connected };
  const m = action.message;
  const patch = (block: string, change: (b: BlockView) => BlockView): RunState => ({
    ...state,
    blocks: { ...state.blocks, [block]: change(state.blocks[block] ?? empty()) },
  });
  switch (m.type) {
    case 'block_status':
      return patch(m.block, (b) => ({
        ...b,
        status: m.status,
        durationMs: m.durationMs ?? (m.status === 'running' ? undefined : b.durationMs),
        startedAt: m.status === 'running' ? Date.parse(m.at) : b.startedAt,
        logs: m.status === 'running' ? '' : b.logs,
        error: m.status === 'running' ? undefined : b.error,
        progress: undefined,
        skipped: m.status === 'condition_failed' ? (m.message ?? 'skipped by a conditional') : undefined,
      }));
    case 'block_progress':
      // A late message must not bring back progress of a block that already finished.
      return state.blocks[m.block]?.status === 'running' ? patch(m.block, (b) => ({ ...b, progress: m.progress })) : state;
    case 'log':
      return patch(m.block, (b) => ({ ...b, logs: (b.logs + m.text).slice(-MAX_LOG) }));
    case 'output':
      return patch(m.block, (b) => ({ ...b, preview: m.preview, error: undefined }));
    case 'block_error':
      return patch(m.block, (b) => ({ ...b, error: m.error }));
    case 'kernel_status':
      return { ...state, kernel: m.status };
    case 'block_runs_added': {
      const children = { ...state.children };
      const blocks = { ...state.blocks };
      for (const b of m.blocks) {
        children[b.block] = [...(children[b.block] ?? []).filter((n) => n !== b.name), b.name];
        // A child run of this run: what the same name showed in an earlier run is not its state.
        blocks[b.name] = { status: 'initial', logs: '' };
      }
      return { ...state, children, blocks };
    }
    case 'callback':
      return m.error ? { ...state, callbackErrors: { ...state.callbackErrors, [m.block]: [...(state.callbackErrors[m.block] ?? []), `${m.callback}.${m.hook}: ${m.error.message}`] } } : state;
    case 'run_status': {
      if (m.status !== 'running') return state;
      // A new run: the children and callback errors of the blocks it runs start afresh.
      const children = { ...state.children };
      const callbackErrors = { ...state.callbackErrors };
      for (const b of m.blocks) {
        delete children[b];
        delete callbackErrors[b];
      }
      return { ...state, children, callbackErrors };
    }
    // Attempts show through block_status (running with its attempt, queued with the retry's wait).
    case 'attempt_finished':
    case 'run_changed':
    case 'output_answer':
    case 'pipeline_changed':
    case 'file_changed':
    // A refusal is not run state: the store shows it in the banner (EditorState.notice).
    case 'error':
      return state;
    default: {
      const never: never = m;
      return never;
    }
  }
}
