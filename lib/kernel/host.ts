import { type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { forkKernel } from './fork-kernel';
import { type BlockOutcome, type BlockSpec, type ExecuteRole, kernelEventSchema, type KernelCommand, type KernelEvent, type KernelInit, type KernelSettings, type OutputCopies } from './ipc';
import { type KernelStandby } from './standby';
import { type LazyOutput } from '../run/lazy-outputs';
import { kernelEnvironment } from './kernel-env';
import { killProcessGroup } from './process-group';
import { secretEnvValues, ValueMask } from './value-mask';
import { type OutputQuery, type OutputResult } from '../protocol/output-query';
import { type RunInput } from '../protocol/run-inputs';
import { type RunsAnswer, type RunsRequest } from '../protocol/runs-request';
import { InvalidMessageLog } from '../protocol/invalid-message';

export interface KernelOptions {
  projectDir: string;
  dataDir: string;
  pipelineUuid: string;
  /** How long an interrupt may take before the kernel process is killed and restarted. */
  interruptGraceMs?: number;
  /**
   * Where block outputs are cached as Parquet; default `<dataDir>/cache/<pipeline>`. A scheduled
   * run gets a folder of its own, so concurrent runs and the editor never overwrite each other.
   * `null`: outputs live only as long as the kernel (a one-shot `grimoire run` reads them from
   * DuckDB and never again, so writing them out would only cost time, disk and memory).
   */
  cacheDir?: string | null;
  /** Where to take a kernel started ahead of need (a worker's); by default each kernel starts afresh. */
  standby?: KernelStandby;
  /**
   * When a completed block's output must be in its Parquet file (default `wait`: before the block
   * is answered for, as a resumed run must find it). `background`: behind the answer (the editor:
   * its runs are never resumed).
   */
  outputCopies?: OutputCopies;
  /**
   * Environment defaults for blocks (e.g. POSTGRES_* of the embedded server); the real environment
   * wins. They travel with each block, so they may be set after the kernel started (setEnvDefaults).
   */
  envDefaults?: Record<string, string>;
  /**
   * The workspace's secrets (name -> value), read at a run's first block and sent with each of its
   * blocks (never through the environment): a run sees one snapshot, and its blocks do not each
   * cost a query. A rejection fails the run's blocks with the reason. None when absent.
   */
  secrets?: () => Promise<Record<string, string>>;
  /**
   * What `ctx.runs` reaches (starting and checking the project's pipeline runs); without it, a
   * block's ctx.runs call fails saying this host cannot.
   */
  runs?: KernelRuns;
}

/**
 * Answers a block's ctx.runs request; `asking` is the block's run. Rejections become the block's
 * error. `signal` aborts when the kernel that asked goes away (a wait must not outlive it).
 */
export interface KernelRuns {
  handle(request: RunsRequest, asking: { runId: string; executionDate: string }, signal: AbortSignal): Promise<RunsAnswer>;
}

export type KernelState = 'starting' | 'idle' | 'busy' | 'dead';

export interface ExecuteRequest {
  runId: string;
  /** The block run's name (a dynamic child's `<uuid>:<key>`); default the block's uuid. */
  name?: string;
  block: BlockSpec;
  /** Where each of `block.upstream` is read from (dynamic blocks); default each one's own output. */
  inputs?: RunInput[];
  /** What to ask of the block's code; default `block` (run it, publish its output). */
  role?: ExecuteRole;
  /** A cached block's cache mode and key variables (KernelCommand execute `cache`). */
  cache?: Extract<KernelCommand, { type: 'execute' }>['cache'];
  variables: Record<string, import('../pipeline/model').JsonValue>;
  executionDate: string;
  previewRows?: number;
  /** KernelCommand execute `lazyOutput`: the output may stay a view. */
  lazyOutput?: LazyOutput;
}

type LogListener = (e: Extract<KernelEvent, { type: 'log' }>) => void;
type ProgressListener = (e: Extract<KernelEvent, { type: 'block_progress' }>) => void;
type StateListener = (state: KernelState) => void;

interface Pending {
  resolve: (outcome: BlockOutcome) => void;
  started: number;
}


/**
 * The server side of one kernel: spawns the child process, sends it blocks, and turns every way a
 * child can go away (crash, `kill`, interrupt of an endless loop) into failed outcomes, so callers
 * always get an answer. A dead kernel is restarted on the next request.
 */
export class KernelHost {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<string, Pending>();
  private readonly logListeners = new Set<LogListener>();
  private readonly progressListeners = new Set<ProgressListener>();
  private readonly stateListeners = new Set<StateListener>();
  private readonly questions = new Map<string, (result: OutputResult) => void>();
  private stderrTail = '';
  private interrupting = false;
  private questionCounter = 0;
  private runSecrets: { runId: string; read: ReturnType<KernelHost['readSecrets']> } | null = null;
  /** Interrupts so far: a block whose execute began before the latest one is not sent to the kernel. */
  private interrupts = 0;
  /** close() was called: a kernel adopted after that is ended at once. */
  private closed = false;
  state: KernelState = 'dead';

  private envDefaults: Record<string, string>;
  /**
   * Every secret value this host has seen (workspace secrets, password-like variables the kernel
   * was given): whatever comes back from the kernel passes through it, so a value stays hidden
   * even when the kernel did not know it was one.
   */
  private readonly mask = new ValueMask();
  /** Whether the workspace's secrets were read (and so are masked) at least once. */
  private secretsRead = false;

  constructor(private readonly options: KernelOptions) {
    this.envDefaults = { ...options.envDefaults };
    this.mask.add(secretEnvValues(this.envDefaults));
  }

  /** Environment defaults known only after the kernel started (the database came up meanwhile). */
  setEnvDefaults(values: Record<string, string>): void {
    this.envDefaults = { ...this.envDefaults, ...values };
    this.mask.add(secretEnvValues(values));
  }

  onLog(listener: LogListener): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  onProgress(listener: ProgressListener): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  onState(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private setState(state: KernelState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of this.stateListeners) l(state);
  }

  private async start(): Promise<void> {
    this.setState('starting');
    this.stderrTail = '';
    const own: KernelSettings = {
      GRIMOIRE_PROJECT_DIR: path.resolve(this.options.projectDir),
      GRIMOIRE_DATA_DIR: path.resolve(this.options.dataDir),
      // Empty: no output cache (see `cacheDir`).
      GRIMOIRE_CACHE_DIR: this.options.cacheDir === null ? '' : path.resolve(this.options.cacheDir ?? path.join(this.options.dataDir, 'cache', this.options.pipelineUuid)),
      GRIMOIRE_PIPELINE: this.options.pipelineUuid,
      GRIMOIRE_OUTPUT_COPIES: this.options.outputCopies ?? 'wait',
    };
    // A kernel started ahead of need (a worker's), else a new one.
    const adopted = (await this.options.standby?.take()) ?? null;
    if (this.closed) {
      if (adopted) killProcessGroup(adopted.child);
      throw new Error('the kernel host closed while its kernel was starting');
    }
    // Not process.env as is: Grimoire's own credentials (GRIMOIRE_*, DATABASE_URL, PGPASSWORD) stay here.
    const env = adopted?.env ?? kernelEnvironment(process.env, this.envDefaults, own);
    // A block may print the environment it was given: its passwords are hidden like secrets.
    this.mask.add(secretEnvValues(env));
    const child = adopted?.child ?? forkKernel(env, this.options.projectDir);
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => {
      // Keep the end of stderr: it explains a crash better than an exit code.
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000);
      if (process.env.GRIMOIRE_KERNEL_STDERR === '1') process.stderr.write(d);
    });
    const ready = new Promise<void>((resolve, reject) => {
      // A kernel that sends what the host cannot read is a bug in one of them: say what, once per problem.
      const invalidEvents = new InvalidMessageLog(`kernel host (pid ${child.pid ?? '?'}): kernel event`);
      child.on('message', (raw: unknown) => {
        const parsed = kernelEventSchema.safeParse(raw);
        if (!parsed.success) {
          invalidEvents.invalid(parsed.error);
          return;
        }
        const event = parsed.data;
        switch (event.type) {
          case 'standby':
            // Told to the standby that started it, before this host adopted it.
            return;
          case 'ready':
            this.setState(this.pending.size > 0 ? 'busy' : 'idle');
            resolve();
            return;
          case 'log': {
            const masked = { ...event, text: this.mask.text(event.text) };
            for (const l of this.logListeners) l(masked);
            return;
          }
          case 'block_progress':
            for (const l of this.progressListeners) l(event);
            return;
          case 'block_done':
            this.settle(`${event.runId}/${event.block}`, event.outcome);
            return;
          case 'output_answer': {
            const waiting = this.questions.get(event.requestId);
            this.questions.delete(event.requestId);
            waiting?.(event.result.ok ? { ok: true, answer: this.mask.answer(event.result.answer) } : { ok: false, message: this.mask.text(event.result.message) });
            return;
          }
          case 'runs_request':
            void this.answerRuns(child, event);
            return;
          default: {
            const never: never = event;
            throw new Error(`unhandled kernel event ${JSON.stringify(never)}`);
          }
        }
      });
      child.on('exit', (code, signal) => {
        if (this.child === child) {
          this.child = null;
          this.ready = null;
        }
        const why = this.interrupting
          ? { kind: 'interrupted' as const, message: 'interrupted: the kernel was restarted to stop the block' }
          : {
              kind: 'kernel_died' as const,
              message: this.mask.text(`the kernel process exited (${signal ?? `code ${code}`}) while running this block${this.stderrTail ? `:\n${this.stderrTail.trim()}` : ''}`),
            };
        for (const [key, p] of this.pending) {
          this.pending.delete(key);
          p.resolve({ status: 'failed', durationMs: Date.now() - p.started, error: why });
        }
        for (const [id, answer] of this.questions) {
          this.questions.delete(id);
          answer({ ok: false, message: 'the kernel stopped before it answered; try again' });
        }
        this.interrupting = false;
        this.setState('dead');
        reject(new Error(this.mask.text(`kernel exited before it was ready (${signal ?? `code ${code}`}): ${this.stderrTail.trim()}`)));
      });
    });
    // The exit handler rejects even after a successful start; nobody waits then.
    ready.catch(() => undefined);
    if (adopted) {
      const init: KernelInit = { type: 'init', settings: own };
      child.send(init);
    }
    return ready;
  }

  /** Answers a block's ctx.runs request through the host's KernelRuns, or says there is none. */
  private async answerRuns(child: ChildProcess, event: Extract<KernelEvent, { type: 'runs_request' }>): Promise<void> {
    let answer: RunsAnswer;
    const gone = new AbortController();
    const onExit = () => gone.abort();
    child.once('exit', onExit);
    try {
      answer = this.options.runs
        ? await this.options.runs.handle(event.request, { runId: event.runId, executionDate: event.executionDate }, gone.signal)
        : { ok: false, message: 'ctx.runs is not available here: this host keeps no run store' };
    } catch (e) {
      answer = { ok: false, message: this.mask.text(e instanceof Error ? e.message : String(e)) };
    } finally {
      child.off('exit', onExit);
    }
    const reply: KernelCommand = { type: 'runs_answer', requestId: event.requestId, answer };
    if (child.connected) child.send(reply);
  }

  private settle(key: string, outcome: BlockOutcome): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    if (this.pending.size === 0 && this.state === 'busy') this.setState('idle');
    p.resolve(this.maskOutcome(outcome));
  }

  private maskOutcome(outcome: BlockOutcome): BlockOutcome {
    switch (outcome.status) {
      case 'completed':
        return outcome.preview ? { ...outcome, preview: this.mask.preview(outcome.preview) } : outcome;
      case 'failed':
        return { ...outcome, error: this.mask.blockError(outcome.error) };
      case 'answered':
        return outcome;
    }
  }

  /** The workspace's secrets for one block; a failure to read them is the block's failure, with the reason. */
  private async readSecrets(): Promise<{ ok: true; values: Record<string, string> } | { ok: false; message: string }> {
    if (!this.options.secrets) return { ok: true, values: {} };
    try {
      const values = await this.options.secrets();
      this.mask.add(Object.values(values));
      this.secretsRead = true;
      return { ok: true, values };
    } catch (e) {
      return { ok: false, message: `could not read the workspace's secrets: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /** The secrets snapshot of run `runId`, read at its first block (the latest run's is kept). */
  private secretsOfRun(runId: string): Promise<{ ok: true; values: Record<string, string> } | { ok: false; message: string }> {
    if (this.runSecrets?.runId !== runId) this.runSecrets = { runId, read: this.readSecrets() };
    return this.runSecrets.read;
  }

  /** Starts the kernel process ahead of the first block (start-up costs ~0.5 s), ignoring failures. */
  warmUp(): void {
    this.ensure().catch(() => undefined);
  }

  private ensure(): Promise<void> {
    if (!this.ready) this.ready = this.start();
    return this.ready;
  }

  /** Runs one block; always resolves, with a failure outcome if the kernel could not run it. */
  async execute(req: ExecuteRequest): Promise<BlockOutcome> {
    const started = Date.now();
    const interruptsBefore = this.interrupts;
    const secrets = await this.secretsOfRun(req.runId);
    if (!secrets.ok) return { status: 'failed', durationMs: Date.now() - started, error: { kind: 'exception', message: secrets.message } };
    try {
      await this.ensure();
    } catch (e) {
      return { status: 'failed', durationMs: Date.now() - started, error: { kind: 'kernel_died', message: this.mask.text(e instanceof Error ? e.message : String(e)) } };
    }
    if (this.interrupts !== interruptsBefore) {
      return { status: 'failed', durationMs: Date.now() - started, error: { kind: 'interrupted', message: 'interrupted before the block started' } };
    }
    const name = req.name ?? req.block.uuid;
    const key = `${req.runId}/${name}`;
    const outcome = new Promise<BlockOutcome>((resolve) => this.pending.set(key, { resolve, started }));
    this.setState('busy');
    const cmd: KernelCommand = {
      type: 'execute',
      runId: req.runId,
      name,
      block: req.block,
      ...(req.inputs ? { inputs: req.inputs } : {}),
      role: req.role ?? { kind: 'block' },
      ...(req.cache ? { cache: req.cache } : {}),
      variables: req.variables,
      executionDate: req.executionDate,
      previewRows: req.previewRows ?? 10,
      ...(req.lazyOutput ? { lazyOutput: req.lazyOutput } : {}),
      envDefaults: this.envDefaults,
      secrets: secrets.values,
    };
    const child = this.child;
    if (!child || !child.connected) {
      // The kernel went away between starting and now: answer instead of waiting forever.
      this.settle(key, { status: 'failed', durationMs: Date.now() - started, error: { kind: 'kernel_died', message: 'the kernel process is not running; run the block again to restart it' } });
    } else {
      child.send(cmd);
    }
    return outcome;
  }

  /** Tells the kernel these outputs will not be read again, so it can drop them. */
  release(blocks: readonly string[]): void {
    const child = this.child;
    if (blocks.length === 0 || !child || !child.connected) return;
    const cmd: KernelCommand = { type: 'release', blocks: [...blocks] };
    child.send(cmd);
  }

  /**
   * Asks the kernel for a page or chart of a block's output. Always resolves; a kernel busy in a
   * long JavaScript block cannot answer, so the question times out instead of hanging the table.
   */
  async queryOutput(block: string, query: OutputQuery, timeoutMs = 30_000): Promise<OutputResult> {
    // A host that has run nothing yet (a new server reading cached outputs) learns the values to hide first.
    if (!this.secretsRead) {
      const secrets = await this.readSecrets();
      if (!secrets.ok) return { ok: false, message: secrets.message };
    }
    try {
      await this.ensure();
    } catch (e) {
      return { ok: false, message: e instanceof Error ? e.message : String(e) };
    }
    const child = this.child;
    if (!child || !child.connected) return { ok: false, message: 'the kernel process is not running; try again' };
    const requestId = `q${++this.questionCounter}`;
    return new Promise<OutputResult>((resolve) => {
      const timer = setTimeout(() => {
        this.questions.delete(requestId);
        resolve({ ok: false, message: `the kernel did not answer within ${Math.round(timeoutMs / 1000)} s (is a block still running?)` });
      }, timeoutMs);
      this.questions.set(requestId, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      const cmd: KernelCommand = { type: 'query_output', requestId, block, query };
      child.send(cmd);
    });
  }

  /**
   * Stops what is running. SQL stops through DuckDB's interrupt; JavaScript cannot be stopped from
   * outside its thread, so if blocks are still running after the grace period the process is killed
   * (outputs already published survive as Parquet and are reloaded on demand).
   */
  async interrupt(): Promise<void> {
    // Blocks still on their way in (reading secrets, waiting for the kernel to start) stop there.
    this.interrupts += 1;
    const child = this.child;
    if (!child || this.pending.size === 0) return;
    const interrupt: KernelCommand = { type: 'interrupt' };
    child.send(interrupt);
    const deadline = Date.now() + (this.options.interruptGraceMs ?? 1500);
    while (this.pending.size > 0 && Date.now() < deadline && this.child === child) await new Promise((r) => setTimeout(r, 20));
    if (this.pending.size > 0 && this.child === child) {
      this.interrupting = true;
      await this.kill();
    }
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.ensure();
  }

  private kill(): Promise<void> {
    const child = this.child;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      killProcessGroup(child);
    });
  }

  /** Lets the kernel exit on its own (it removes its scratch files), killing it if it is stuck. */
  async close(): Promise<void> {
    this.closed = true;
    // The standby this host may have taken a kernel from starts the next one now that this run is over.
    this.options.standby?.fill();
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.disconnect();
    // It finishes writing its output cache first; a kernel stuck in a block gets killed.
    const timer = setTimeout(() => killProcessGroup(child), this.pending.size > 0 ? 1000 : 60_000);
    await exited;
    clearTimeout(timer);
  }
}
