import { executionDateFrom } from '../engine/runtime-variables';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { queuedRuns } from '../runs/pipeline-runs';
import { KernelHost, type KernelState } from '../kernel/host';
import { RunLifecycleHooks } from '../engine/lifecycle-hooks';
import { loadRunSettings } from '../engine/run-settings';
import { recordLiveRun } from '../store/live-run';
import { type Store } from '../store/store';
import { runPipeline } from '../engine/run-engine';
import { type JsonValue } from '../pipeline/model';
import { type ServerMessage } from '../protocol/messages';
import { planRun, type RunScope } from '../run/plan';
import { dataDirOf } from '../project/paths';

type Emit = (message: ServerMessage) => void;

/** How long a kernel stays idle before the browser is told (ms). */
const IDLE_SHOWN_AFTER_MS = 30;

/** Where the editor's runs are recorded (kind `editor`), and the live process that drives them. */
export interface RunRecorder {
  store: Store;
  /** Holds its liveness lock for as long as the server lives (lib/store/presence.ts). */
  ownerId: string;
}

/**
 * One open pipeline on the server: its kernel, its runs in flight, and the latest state of each
 * block, so a browser that (re)connects catches up instead of showing a blank notebook.
 */
export class PipelineSession {
  readonly kernel: KernelHost;
  private readonly runs = new Map<string, AbortController>();
  /** Last messages per block (status, output, error) and the last run status, replayed on subscribe. */
  private readonly latest = new Map<string, ServerMessage>();
  private readonly ref: { project: string; pipeline: string };
  private readonly userId: string;

  constructor(
    readonly projectDir: string,
    project: string,
    pipeline: string,
    private readonly emit: Emit,
    envDefaults: Record<string, string> = {},
    /** Whose kernel this is: each user's outputs are cached in a folder of their own. */
    userId = 'default',
    /** The workspace's secrets, read at each run's first block (KernelOptions.secrets). */
    secrets?: () => Promise<Record<string, string>>,
    /** Records each run in the store; runs are not recorded without it. */
    private readonly recorder: RunRecorder | null = null,
  ) {
    this.userId = userId;
    this.ref = { project, pipeline };
    const dataDir = dataDirOf(projectDir);
    this.kernel = new KernelHost({
      projectDir,
      dataDir,
      pipelineUuid: pipeline,
      envDefaults,
      secrets,
      cacheDir: path.join(dataDir, 'cache', 'users', userId, pipeline),
      outputCopies: 'background',
      // ctx.runs: runs a block starts are queued for the workers, like the runs the editor's user starts.
      ...(recorder ? { runs: queuedRuns({ store: recorder.store, project, projectDir, pipeline }) } : {}),
    });
    // Between the blocks of a run the kernel is idle for a moment: told only if it stays idle, so a
    // 40-block run is not 80 messages of busy/idle flicker.
    let idleTimer: NodeJS.Timeout | null = null;
    let shown: KernelState | null = null;
    const show = (status: KernelState) => {
      if (status === shown) return;
      shown = status;
      this.publish({ type: 'kernel_status', ...this.ref, status });
    };
    this.kernel.onState((status: KernelState) => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = null;
      if (status === 'idle') idleTimer = setTimeout(() => show('idle'), IDLE_SHOWN_AFTER_MS);
      else show(status);
    });
  }

  private publish(message: ServerMessage): void {
    switch (message.type) {
      case 'block_status':
        this.latest.set(`status/${message.block}`, message);
        break;
      case 'output':
        this.latest.set(`output/${message.block}`, message);
        this.latest.delete(`error/${message.block}`);
        break;
      case 'block_error':
        this.latest.set(`error/${message.block}`, message);
        break;
      case 'run_status':
        // A new run's fan-out replaces the children its blocks had in the run before.
        if (message.status === 'running') {
          for (const [key, m] of this.latest) if (m.type === 'block_runs_added' && m.blocks.some((b) => message.blocks.includes(b.block))) this.latest.delete(key);
        }
        this.latest.set(message.type, message);
        break;
      case 'kernel_status':
        this.latest.set(message.type, message);
        break;
      case 'block_runs_added':
        // Replayed too, so a tab that (re)connects still knows a dynamic block's children. What their
        // names showed in an earlier run goes: their news now comes after this message, as it did live.
        for (const b of message.blocks) for (const kind of ['status', 'output', 'error']) this.latest.delete(`${kind}/${b.name}`);
        this.latest.set(`children/${message.parent}`, message);
        break;
      case 'log':
      case 'block_progress':
      case 'attempt_finished':
      case 'callback':
      case 'error':
      case 'output_answer':
      case 'pipeline_changed':
      case 'file_changed':
        break;
    }
    this.emit(message);
  }

  /** True while a run is in flight: such a kernel is never stopped for being idle. */
  get busy(): boolean {
    return this.runs.size > 0 || this.kernel.state === 'busy';
  }

  snapshot(): ServerMessage[] {
    return [...this.latest.values()];
  }

  /**
   * Starts a run through the run engine and returns its id at once; progress arrives as messages
   * to the pipeline's room. Errors (unknown pipeline or block, malformed retry_config) reject here,
   * before anything runs, so the sender gets the reason.
   */
  async run(scope: RunScope, variables: Record<string, JsonValue> = {}, options: { useCache?: boolean } = {}): Promise<string> {
    const settings = await loadRunSettings(this.projectDir, this.ref.pipeline);
    // Planning here makes a bad request (unknown block) an error reply to the sender, not a lost run.
    const planned = planRun(settings.pipeline.blocks, scope);
    const runId = randomUUID();
    // A past day run from the editor: variables ds / execution_date set the run's execution date.
    const executionDate = executionDateFrom(variables, new Date());
    const abort = new AbortController();
    this.runs.set(runId, abort);
    const hooks = new RunLifecycleHooks().onAny((e) => {
      // The notebook shows attempts through block_status (running with its attempt, queued with the retry's wait).
      if (e.type === 'attempt_finished') return;
      if (e.type === 'block_status' && e.status === 'running') this.latest.delete(`error/${e.block}`);
      this.publish({ ...e, ...this.ref });
    });
    const stopRecording = this.recorder
      ? recordLiveRun(
          { store: this.recorder.store, ownerId: this.recorder.ownerId, runId, kind: 'editor', project: this.ref.project, projectDir: this.projectDir, settings, planned, variables, executionDate, startedBy: this.userId },
          hooks,
        )
      : null;
    void runPipeline({
      runId,
      kernel: this.kernel,
      pipeline: settings.pipeline,
      planned,
      hooks,
      blockConfigs: settings.blockConfigs,
      concurrency: settings.blockRunLimit ?? undefined,
      variables,
      executionDate,
      signal: abort.signal,
      ...(options.useCache === false ? { useCache: false } : {}),
    })
      .catch((e: unknown) => this.publish({ type: 'error', code: 'internal', message: e instanceof Error ? e.message : String(e) }))
      .then(() => stopRecording?.())
      // The run itself went fine; only its record is missing: say so, with the store's details in the server's log only.
      .catch((e: unknown) => {
        console.error(`run ${runId} of ${this.ref.project}/${this.ref.pipeline} was not recorded: ${e instanceof Error ? e.message : String(e)}`);
        this.publish({ type: 'error', code: 'internal', message: 'the run was not recorded in the run history (the server log says why)' });
      })
      .finally(() => this.runs.delete(runId));
    return runId;
  }

  async interrupt(): Promise<void> {
    for (const abort of this.runs.values()) abort.abort();
    await this.kernel.interrupt();
  }

  async restart(): Promise<void> {
    for (const abort of this.runs.values()) abort.abort();
    await this.kernel.restart();
  }

  async close(): Promise<void> {
    for (const abort of this.runs.values()) abort.abort();
    await this.kernel.close();
  }
}
