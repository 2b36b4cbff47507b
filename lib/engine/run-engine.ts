import { type BlockOutcome, type CallbackHook, type ExecuteRole } from '../kernel/ipc';
import { type ExecuteRequest, type KernelHost } from '../kernel/host';
import { type AddOnBlock, type Block, type JsonValue, type Pipeline } from '../pipeline/model';
import { type BlockError, type OutputPreview } from '../protocol/run-events';
import { decideNext } from '../run/decide';
import { lazyOutputs, type LazyOutput } from '../run/lazy-outputs';
import { FanOut, outputName, type RunNode } from '../run/fan-out';
import { readCacheConfig } from '../pipeline/cache-config';
import { type BlockRunStatus, isFinished, pipelineStatusOf, type PipelineRunStatus } from '../run/states';
import { type Clock, systemClock } from '../clock';
import { type BlockRunConfig, DEFAULT_RETRY, retryDelayMs } from '../scheduler/retry';
import { type RunLifecycleHooks } from './lifecycle-hooks';
import { runtimeVariables } from './runtime-variables';

/** What the engine needs of a kernel (KernelHost; a fake one in unit tests). */
export type EngineKernel = Pick<KernelHost, 'execute' | 'interrupt' | 'release' | 'onLog' | 'onProgress'>;

/** Where a block run stands when a run resumes (from the store): its status and attempts so far. */
export interface ResumedBlock {
  status: BlockRunStatus;
  /** Attempts made so far, all runs of the run included. */
  attempts: number;
  /** Attempts that do not count against retry_config (before a "retry the run", or lost to a stop). */
  attemptBase: number;
}

export interface EngineRequest {
  runId: string;
  kernel: EngineKernel;
  pipeline: Pipeline;
  /**
   * The blocks to run, in dependency order: `planRun(pipeline.blocks, scope)`, planned once by the
   * host. A dynamic block's children join the run as it fans out (`block_runs_added`).
   */
  planned: readonly string[];
  hooks: RunLifecycleHooks;
  /** retry_config and timeout per block (run-settings.ts); a block missing here runs once, unlimited. */
  blockConfigs?: ReadonlyMap<string, BlockRunConfig>;
  /** Runtime variables; they override the pipeline's global variables. */
  variables?: Record<string, JsonValue>;
  executionDate?: Date;
  /** The trigger that made the run, for the `trigger_name` variable. */
  triggerName?: string | null;
  /** When the whole run must be over (ms since the epoch); blocks still running then are stopped. */
  deadline?: number | null;
  /** Blocks running at once inside the kernel; independent branches overlap. Default 4. */
  concurrency?: number;
  /**
   * Drop each output in the kernel once every block of the run that reads it has finished, so a
   * 5M-row load does not sit in memory through the exports (one-shot runs: CLI, workers).
   */
  releaseOutputs?: boolean;
  /**
   * A pass-through exporter's output (`SELECT * FROM {{ df_1 }}` that no block reads) stays a view
   * of its upstream table, and its destination reads that table (lib/run/lazy-outputs.ts): nothing
   * is copied. For runs that keep no output after them (the CLI).
   */
  lazyOutputs?: boolean;
  /**
   * Cached blocks (configuration.cache) reuse their saved output when it still holds; false runs
   * them anyway and saves the new output ("run ignoring cache", `grimoire run --no-cache`). Default true.
   */
  useCache?: boolean;
  /** A resumed run: where each block stood. Completed blocks are not run again. */
  resume?: ReadonlyMap<string, ResumedBlock>;
  /**
   * Of these completed block runs (by name: a fan-out's child as `<uuid>:<key>`), the ones whose
   * output is gone (a crash lost it): they run again before any block that reads them. Without it,
   * completed outputs are trusted.
   */
  missingOutputs?: (completed: readonly string[]) => Promise<string[]>;
  /**
   * Aborts the run. Reason `'shutdown'`: the host is stopping (a worker draining); attempts in
   * flight are lost, not failed, no final status is told, and the run resumes elsewhere. Any other
   * reason cancels the run.
   */
  signal?: AbortSignal;
  /**
   * The host is stopping gently (a worker's SIGTERM): once aborted, no block starts (nor retries,
   * nor pokes again); blocks already running finish, and if any block is left, the run ends as a
   * shutdown does (`stoppedBy: 'shutdown'`, no final status) to resume elsewhere. `signal` with
   * reason `'shutdown'` still stops the running blocks too, when the grace period is over.
   */
  drain?: AbortSignal;
  /**
   * Whether this host may run a block (by block uuid): a worker serves some queues, and a block
   * whose executor_config.queue is another waits for a worker of that queue. Blocks that may
   * not run here stay queued; once nothing else can start here the run ends as `handoff`, naming
   * them in `elsewhere`. Default: every block runs here.
   */
  runsHere?: (block: string) => boolean;
  clock?: Clock;
}

export interface BlockResult {
  status: BlockRunStatus;
  /** It completed by reusing its cached output. */
  cached?: boolean;
  attempts: number;
  /** Milliseconds of the last attempt. */
  durationMs?: number;
  rowCount?: number;
  error?: BlockError;
}

export interface RunOutcome {
  runId: string;
  status: PipelineRunStatus;
  /**
   * Why the run stopped early: cancelled, its host shut down (the run is to be resumed), or its
   * next blocks must run on another queue's workers (`elsewhere`; resumed there).
   */
  stoppedBy: 'cancel' | 'shutdown' | 'handoff' | null;
  /** With `handoff`: the block runs ready to start that this host may not run. */
  elsewhere?: string[];
  /** Every block run by name, dynamic children (`<uuid>:<key>`) included. */
  blocks: Map<string, BlockResult>;
}

/** Re-exported so hosts build the same variables for anything else they show. */
export { runtimeVariables };

/**
 * The one run loop, for every host (editor, `grimoire run`, workers): decide what may start, start
 * it in the kernel, retry with back-off, stop what runs past its timeout or the run's deadline,
 * cancel, mark upstream_failed, release outputs, cap concurrency, and tell the host's hooks about
 * each step (lifecycle-hooks.ts). The policy is pure (lib/run, lib/scheduler/retry.ts); this
 * applies it. Rejects only when a hook does (e.g. the store is unreachable); a block's failure is
 * an outcome, never an exception.
 */
/** How long a callback may run when its block has no timeout (and the run no deadline sooner). */
const CALLBACK_TIMEOUT_MS = 300_000;

/** What one attempt of a block run came to. */
type AttemptResult =
  | { kind: 'completed'; durationMs: number; preview: OutputPreview | null; items?: string[]; cachedAt?: string }
  | { kind: 'skipped'; durationMs: number; message: string }
  | { kind: 'failed'; durationMs: number; error: BlockError };

/** A sensor's `configuration` seconds (poke_interval, timeout) as milliseconds; `fallback` when unset or invalid. */
function seconds(value: JsonValue | undefined, fallback: number | null): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value * 1000 : fallback;
}

/** The callback hook for how a block run ended, if any. */
function hookFor(status: BlockRunStatus): CallbackHook | null {
  if (status === 'completed') return 'onSuccess';
  if (status === 'failed') return 'onFailure';
  if (status === 'cancelled') return 'onCancelled';
  return null;
}

/**
 * The one run loop, for every host (editor, `grimoire run`, workers): decide what may start, start
 * it in the kernel, retry with back-off, stop what runs past its timeout or the run's deadline,
 * cancel, mark upstream_failed, release outputs, cap concurrency, and tell the host's hooks about
 * each step (lifecycle-hooks.ts). It also runs the block kinds around the data blocks: sensors
 * (poked until satisfied, the kernel free between pokes), conditionals (before a block; false
 * skips it: condition_failed), callbacks (after a block ends) and dynamic blocks (children join
 * the run as their parent completes, fan-out.ts). The policy is pure (lib/run,
 * lib/scheduler/retry.ts); this applies it. Rejects only when a hook does (e.g. the store is
 * unreachable); a block's failure is an outcome, never an exception.
 */
export async function runPipeline(req: EngineRequest): Promise<RunOutcome> {
  const { runId, kernel, hooks, pipeline } = req;
  const clock = req.clock ?? systemClock;
  const now = () => clock.now();
  const planned = [...req.planned];
  const specs = new Map(pipeline.blocks.map((b) => [b.uuid, b]));
  const inPlan = new Set(planned);
  const fan = new FanOut(
    planned.flatMap((u) => {
      const spec = specs.get(u);
      return spec ? [{ uuid: u, upstream: spec.upstream.filter((x) => inPlan.has(x)), dynamic: spec.configuration.dynamic === true, reduce: spec.configuration.reduce_output === true }] : [];
    }),
  );
  /** The upstream blocks whose data a block receives: a sensor only gates, it passes nothing on. */
  const dataUpstream = (spec: Block) => spec.upstream.filter((u) => specs.get(u)?.type !== 'sensor');
  const isSensor = (name: string) => specs.get(fan.get(name)?.block ?? name)?.type === 'sensor';
  const conditionalsOf = (block: string) => pipeline.conditionals.filter((c) => c.upstream.includes(block));
  const callbacksOf = (block: string) => pipeline.callbacks.filter((c) => c.upstream.includes(block));
  const lazy = req.lazyOutputs ? lazyOutputs(pipeline, planned) : new Map<string, LazyOutput>();
  const configOf = (u: string): BlockRunConfig => req.blockConfigs?.get(u) ?? { retry: DEFAULT_RETRY, timeout: null };
  const variables = runtimeVariables({ pipeline, variables: req.variables ?? {}, executionDate: req.executionDate ?? now(), runId, triggerName: req.triggerName ?? null });
  const executionDate = (req.executionDate ?? now()).toISOString();
  const concurrency = Math.max(1, req.concurrency ?? 4);
  /** Every block run by name, in the order they joined the run. */
  const blocks = new Map<string, BlockResult>(planned.map((u) => [u, { status: 'initial', attempts: 0 }]));
  const attemptBase = new Map<string, number>();
  const statusOf = (u: string): BlockRunStatus => blocks.get(u)?.status ?? 'initial';
  const statuses = () => new Map([...blocks.keys()].map((u) => [u, statusOf(u)]));
  const groups = () => new Set(fan.all().filter((n) => n.group).map((n) => n.name));

  /** Records a move and tells the hooks; `post` for moves made where nothing may wait (abort). */
  const move = (block: string, status: BlockRunStatus, extra: { attempt?: number; durationMs?: number; message?: string; cached?: boolean } = {}, wait = true): Promise<void> => {
    const entry = blocks.get(block);
    if (entry) {
      entry.status = status;
      if (extra.durationMs !== undefined) entry.durationMs = extra.durationMs;
    }
    const event = { type: 'block_status' as const, runId, block, status, at: now().toISOString(), ...extra };
    if (wait) return hooks.emit(event);
    hooks.post(event);
    return Promise.resolve();
  };

  await hooks.emit({ type: 'run_status', runId, status: 'running', blocks: planned });

  /** Whether some block a dynamic block fans out to has not ended: its items are still needed. */
  const fanOutOpen = (block: string) => pipeline.blocks.some((b) => inPlan.has(b.uuid) && b.upstream.includes(block) && !isFinished(statusOf(b.uuid)));
  /** Where a block run starts from: fresh, or where a resumed run left it. */
  const startFrom = async (u: string): Promise<void> => {
    const prior = req.resume?.get(u);
    const entry = blocks.get(u);
    if (!entry) return;
    entry.attempts = prior?.attempts ?? 0;
    attemptBase.set(u, prior?.attemptBase ?? 0);
    const status = prior?.status ?? 'initial';
    entry.status = status;
    // A completed dynamic block run (a nested child too): its children join again as the store has
    // them, each where it was left, whether or not its fan-out has ended (a reduced output
    // downstream still reads the completed ones). Running it again to list its items would also
    // send it back to its own queue's workers, while its children wait on another's.
    const node = fan.get(u);
    if (status === 'completed' && node && !node.group && fan.isDynamic(node.block)) {
      const keys = fan.restoredKeys(u, [...(req.resume?.keys() ?? [])]);
      if (keys) {
        await addChildren(u, fan.fanOut(u, keys));
        return;
      }
      if (fanOutOpen(node.block)) {
        // None of its children was recorded: it lists its items again.
        await move(u, 'queued', { message: 'resumed: it runs again to list the items it fans out' });
        return;
      }
    }
    if (status === 'initial' || status === 'queued' || status === 'running') {
      // A block whose attempts are used up (its last one was lost with its worker) fails now.
      const used = entry.attempts - (prior?.attemptBase ?? 0);
      if (prior && used > configOf(fan.get(u)?.block ?? u).retry.retries) await move(u, 'failed', { attempt: entry.attempts, message: `no retries left after ${used} attempts` });
      else if (status !== 'queued') await move(u, 'queued', status === 'running' ? { message: 'resumed: its attempt was lost when its host stopped' } : {});
    }
  };
  /** Children of a dynamic block run join the run (and the store), where a resumed run left them if it did. */
  const addChildren = async (parent: string, made: readonly RunNode[]): Promise<void> => {
    if (made.length === 0) return;
    for (const n of made) blocks.set(n.name, { status: 'initial', attempts: 0 });
    await hooks.emit({ type: 'block_runs_added', runId, parent, blocks: made.map((n) => ({ name: n.name, block: n.block })) });
    for (const n of made) await startFrom(n.name);
  };

  // Planned blocks first (a dynamic one looks at its downstream blocks' statuses), then in reverse
  // for the re-listing check, which needs every downstream block's resumed status.
  for (const u of planned) {
    const entry = blocks.get(u);
    const prior = req.resume?.get(u);
    if (entry && prior) entry.status = prior.status;
  }
  for (const u of planned) await startFrom(u);
  // A completed block whose output a crash lost runs again, before anything that reads it.
  if (req.missingOutputs) {
    const readers = new Set(
      fan
        .all()
        .filter((n) => !isFinished(statusOf(n.name)))
        .flatMap((n) => n.upstream),
    );
    // Restored children of fan-outs too: a dynamic child's children read their items from its output.
    const completed = fan
      .all()
      .filter((n) => !n.group && statusOf(n.name) === 'completed' && readers.has(n.name) && !isSensor(n.name))
      .map((n) => n.name);
    const missing = completed.length > 0 ? await req.missingOutputs(completed) : [];
    for (const u of missing) await move(u, 'queued', { message: 'its output is missing (lost in a crash): it runs again' });
  }

  const stopLogs = kernel.onLog((e) => {
    if (e.runId === runId) hooks.post({ type: 'log', runId, block: e.block, stream: e.stream, text: e.text });
  });
  const stopProgress = kernel.onProgress((e) => {
    if (e.runId === runId) hooks.post({ type: 'block_progress', runId, block: e.block, progress: e.progress });
  });
  let stoppedBy: RunOutcome['stoppedBy'] = null;
  const draining = () => req.drain?.aborted === true;
  /** Ready block runs left for a host of another queue (RunRequest.runsHere). */
  const elsewhere = new Set<string>();
  const inFlight = new Map<string, Promise<void>>();
  /** Block runs with work in the kernel right now: only they are stopped by an interrupt. */
  const inKernel = new Set<string>();
  /**
   * Callbacks run beside the run, never holding up a block's downstream; the run ends once they
   * have. Blocks cancelled while they waited get theirs after the kernel was interrupted (an
   * interrupt would stop a callback started before it).
   */
  const callbacksRunning: Promise<void>[] = [];
  const cancelledWaiting: RunNode[] = [];
  const onAbort = () => {
    stoppedBy = req.signal?.reason === 'shutdown' ? 'shutdown' : 'cancel';
    // Waiting blocks are cancelled at once so the browser shows it; a shut-down host leaves them queued to resume.
    if (stoppedBy === 'cancel') {
      for (const u of blocks.keys()) {
        const s = statusOf(u);
        if ((s === 'queued' || s === 'initial') && !inFlight.has(u)) {
          void move(u, 'cancelled', { message: 'the run was cancelled' }, false);
          const node = fan.get(u);
          if (node && !node.group) cancelledWaiting.push(node);
        }
      }
    }
    void kernel.interrupt();
  };
  // Blocks stopped only because another block in the same kernel ran out of time: their attempt is not theirs to lose.
  const collateral = new Map<string, string>();

  /**
   * What a cached block's key covers of the variables: the pipeline's and the run's own (CONTRACTS:
   * "its variables"), not what the engine adds for every run (its id, execution date and time),
   * so a daily run reuses an output younger than its expiration.
   */
  const cacheVariables: Record<string, JsonValue> = { ...pipeline.variables, ...(req.variables ?? {}) };
  /** The kernel request for block run `node` in `role`. */
  const requestFor = (node: RunNode, spec: Block, role: ExecuteRole): ExecuteRequest => {
    const upstream = dataUpstream(spec);
    const cache = role.kind === 'block' ? readCacheConfig(spec.configuration) : null;
    const lazyOutput = role.kind === 'block' && node.name === spec.uuid ? lazy.get(spec.uuid) : undefined;
    return {
      ...(lazyOutput ? { lazyOutput } : {}),
      ...(cache?.ok && cache.value ? { cache: { mode: req.useCache === false ? 'refresh' : 'use', variables: cacheVariables, expirationMs: cache.value.expirationMs } } : {}),
      runId,
      name: node.name,
      block: { uuid: spec.uuid, type: spec.type, language: spec.language, file: spec.file, upstream, configuration: spec.configuration },
      inputs: fan.inputs(node.name, upstream, (n) => blocks.get(n)?.status),
      role,
      variables,
      executionDate,
    };
  };

  /** Runs one request in the kernel, as work of block run `name` (an interrupt stops it). */
  const execute = async (name: string, request: ExecuteRequest): Promise<BlockOutcome> => {
    inKernel.add(name);
    try {
      return await kernel.execute(request);
    } finally {
      inKernel.delete(name);
    }
  };

  /**
   * Calls the callbacks attached to a block run's block for how it ended. A callback that throws
   * is logged and told (`callback` with its error); it never changes the block run's status.
   */
  const runCallbacks = async (node: RunNode, status: BlockRunStatus, error?: BlockError): Promise<void> => {
    const hook = hookFor(status);
    const spec = specs.get(node.block);
    if (!hook || !spec) return;
    for (const callback of callbacksOf(node.block)) {
      const role: ExecuteRole = { kind: 'callback', addOn: { uuid: callback.uuid, kind: 'callback', file: callback.file }, hook, status, ...(error ? { error } : {}) };
      // Bounded like the block (its timeout, the run's deadline; else CALLBACK_TIMEOUT_MS): a
      // callback that never returns must not keep the run from ending.
      const timeout = configOf(spec.uuid).timeout;
      const limit = Math.max(0, Math.min(timeout === null ? CALLBACK_TIMEOUT_MS : timeout * 1000, req.deadline == null ? Infinity : req.deadline - now().getTime()));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<BlockOutcome>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'failed', durationMs: limit, error: { kind: 'interrupted', message: `timed out after ${Math.round(limit / 1000)} s` } }), limit);
      });
      const outcome = await Promise.race([execute(`${node.name}#${callback.uuid}`, { ...requestFor(node, spec, role), name: node.name }), late]);
      clearTimeout(timer);
      const failed = outcome.status === 'failed' ? outcome.error : undefined;
      await hooks.emit({ type: 'callback', runId, block: node.name, callback: callback.uuid, hook, at: now().toISOString(), ...(failed ? { error: failed } : {}) });
    }
  };

  /** Asks each conditional attached to the block; the first that says no skips the block run. */
  const checkConditionals = async (node: RunNode, spec: Block, conditionals: readonly AddOnBlock[]): Promise<AttemptResult | null> => {
    for (const c of conditionals) {
      const role: ExecuteRole = { kind: 'condition', addOn: { uuid: c.uuid, kind: 'conditional', file: c.file } };
      const outcome = await execute(node.name, requestFor(node, spec, role));
      if (outcome.status === 'failed') return { kind: 'failed', durationMs: outcome.durationMs, error: { ...outcome.error, message: `conditional ${c.uuid}: ${outcome.error.message}` } };
      if (outcome.status === 'answered' && !outcome.value) return { kind: 'skipped', durationMs: outcome.durationMs, message: `conditional ${c.uuid} returned false` };
    }
    return null;
  };

  /**
   * A sensor's attempt: poked every poke_interval seconds (default 60) until it says yes, or
   * until its timeout (seconds; default none) when it fails. Between pokes it only waits here:
   * the kernel runs other blocks and no connection stays open.
   */
  const poke = async (node: RunNode, spec: Block, stop: AbortSignal): Promise<AttemptResult> => {
    const interval = seconds(spec.configuration.poke_interval, 60_000) ?? 60_000;
    const timeout = seconds(spec.configuration.timeout, null);
    const began = now().getTime();
    for (let count = 1; ; count++) {
      const outcome = await execute(node.name, requestFor(node, spec, { kind: 'sensor' }));
      const elapsed = now().getTime() - began;
      if (outcome.status === 'failed') return { kind: 'failed', durationMs: elapsed, error: outcome.error };
      if (outcome.status === 'answered' && outcome.value) {
        hooks.post({ type: 'log', runId, block: node.name, stream: 'stdout', text: `poke ${count}: satisfied\n` });
        return { kind: 'completed', durationMs: elapsed, preview: null };
      }
      if (timeout !== null && elapsed >= timeout) {
        return { kind: 'failed', durationMs: elapsed, error: { kind: 'exception', message: `the sensor timed out after ${Math.round(elapsed / 1000)} s (${count} pokes, timeout ${timeout / 1000} s)` } };
      }
      const wait = timeout === null ? interval : Math.min(interval, timeout - elapsed);
      hooks.post({ type: 'log', runId, block: node.name, stream: 'stdout', text: `poke ${count}: not yet; next in ${wait < 10_000 ? Number((wait / 1000).toFixed(1)) : Math.round(wait / 1000)} s\n` });
      hooks.post({ type: 'block_progress', runId, block: node.name, progress: { phase: 'sensor_wait', poke: count, nextInMs: Math.round(wait) } });
      await clock.sleep(wait, stop);
      if (stop.aborted) return { kind: 'failed', durationMs: now().getTime() - began, error: { kind: 'interrupted', message: `stopped while waiting (${count} pokes)` } };
    }
  };

  /** One block run through its attempts, until it completes, is skipped, gives up, or the run stops. */
  const runBlock = async (node: RunNode, spec: Block): Promise<void> => {
    const u = node.name;
    const entry = blocks.get(u);
    if (!entry) return;
    const config = configOf(spec.uuid);
    const conditionals = conditionalsOf(spec.uuid);
    for (;;) {
      // Handed back while it waited (for a retry): it stays queued and starts on the next host.
      if (draining()) return;
      const attempt = entry.attempts + 1;
      entry.attempts = attempt;
      await move(u, 'running', { attempt, message: `attempt ${attempt}` });
      const started = now().getTime();
      const limits = [config.timeout === null ? null : config.timeout * 1000, req.deadline == null ? null : req.deadline - started].filter((x): x is number => x !== null);
      const limit = limits.length > 0 ? Math.max(0, Math.min(...limits)) : null;
      let timedOut = false;
      const attemptStop = new AbortController();
      const timer =
        limit === null
          ? null
          : setTimeout(() => {
              timedOut = true;
              attemptStop.abort();
              // JavaScript cannot be stopped inside its thread: the kernel stops everything it runs.
              if (!inKernel.has(u)) return;
              for (const other of inKernel) if (other !== u) collateral.set(other, u);
              void kernel.interrupt();
            }, limit);
      // A sensor's wait between pokes also ends when the host drains: it pokes again on the next host.
      const stoppers = [req.signal, attemptStop.signal, spec.type === 'sensor' ? req.drain : undefined].filter((x): x is AbortSignal => x !== undefined);
      const stop = AbortSignal.any(stoppers);
      let result: AttemptResult;
      try {
        result = (await checkConditionals(node, spec, conditionals)) ?? (spec.type === 'sensor' ? await poke(node, spec, stop) : await runData(node, spec));
      } finally {
        if (timer) clearTimeout(timer);
      }
      const at = now().toISOString();
      const durationMs = result.durationMs;
      if (result.kind === 'completed' && result.items && fan.isDynamic(spec.uuid)) {
        try {
          await addChildren(u, fan.fanOut(u, result.items));
        } catch (e) {
          result = { kind: 'failed', durationMs, error: { kind: 'invalid_block', message: e instanceof Error ? e.message : String(e) } };
        }
      }
      if (result.kind === 'completed') {
        collateral.delete(u);
        if (result.preview) entry.rowCount = result.preview.rowCount;
        delete entry.error;
        if (result.preview) await hooks.emit({ type: 'output', runId, block: u, preview: result.preview });
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'completed', at, durationMs });
        if (result.cachedAt) entry.cached = true;
        const said = [result.cachedAt ? `cached: reused the output saved at ${result.cachedAt}` : '', result.items ? `fanned out ${result.items.length} items` : ''].filter(Boolean).join('; ');
        await move(u, 'completed', { attempt, durationMs, ...(said ? { message: said } : {}), ...(result.cachedAt ? { cached: true } : {}) });
        callbacksRunning.push(runCallbacks(node, 'completed'));
        return;
      }
      if (result.kind === 'skipped') {
        collateral.delete(u);
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'completed', at, durationMs });
        await move(u, 'condition_failed', { attempt, durationMs, message: result.message });
        return;
      }
      const error: BlockError = timedOut
        ? { kind: 'interrupted', message: `timed out after ${Math.round((limit ?? 0) / 1000)} s (${config.timeout !== null && limit === config.timeout * 1000 ? 'block timeout' : 'run timeout'})` }
        : result.error;
      if (stoppedBy === 'shutdown' || (spec.type === 'sensor' && draining() && !timedOut && result.kind === 'failed' && result.error.kind === 'interrupted')) {
        // The host is stopping: the attempt is lost, not failed; the run resumes from here elsewhere.
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'cancelled', at, durationMs, error: { kind: 'interrupted', message: 'the worker stopped' }, lost: true });
        return;
      }
      entry.error = error;
      await hooks.emit({ type: 'block_error', runId, block: u, error });
      const culprit = collateral.get(u);
      collateral.delete(u);
      // Stopped from outside the run (the editor's Interrupt): the user's choice, not a failure to retry.
      const interruptedByUser = !timedOut && culprit === undefined && error.kind === 'interrupted';
      if (stoppedBy === 'cancel' || interruptedByUser) {
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'cancelled', at, durationMs, error });
        await move(u, 'cancelled', { attempt, durationMs, message: 'cancelled' });
        cancelledWaiting.push(node);
        return;
      }
      if (culprit !== undefined && !timedOut) {
        const message = `stopped because ${culprit} timed out in the same kernel; run again without using a retry`;
        await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'cancelled', at, durationMs, error: { kind: 'interrupted', message } });
        await move(u, 'queued', { attempt, message });
        attemptBase.set(u, (attemptBase.get(u) ?? 0) + 1);
        continue;
      }
      const counted = attempt - (attemptBase.get(u) ?? 0);
      const runOver = req.deadline != null && now().getTime() >= req.deadline;
      const retryInMs = counted > config.retry.retries || runOver ? undefined : retryDelayMs(config.retry, counted);
      await hooks.emit({ type: 'attempt_finished', runId, block: u, attempt, status: 'failed', at, durationMs, error, ...(retryInMs === undefined ? {} : { retryInMs }) });
      await move(u, 'failed', { attempt, durationMs, message: error.message });
      if (retryInMs === undefined) {
        callbacksRunning.push(runCallbacks(node, 'failed', error));
        return;
      }
      await move(u, 'queued', { attempt, message: `retry ${counted} of ${config.retry.retries} in ${retryInMs / 1000} s` });
      await clock.sleep(retryInMs, req.drain && req.signal ? AbortSignal.any([req.signal, req.drain]) : (req.signal ?? req.drain));
      if (stoppedBy || draining()) return;
    }
  };

  /** A data block's attempt: run in the kernel, its output published. */
  const runData = async (node: RunNode, spec: Block): Promise<AttemptResult> => {
    const outcome = await execute(node.name, requestFor(node, spec, { kind: 'block' }));
    switch (outcome.status) {
      case 'completed':
        return { kind: 'completed', durationMs: outcome.durationMs, preview: outcome.preview ?? null, ...(outcome.items ? { items: outcome.items } : {}), ...(outcome.cachedAt ? { cachedAt: outcome.cachedAt } : {}) };
      case 'failed':
        return { kind: 'failed', durationMs: outcome.durationMs, error: outcome.error };
      case 'answered':
        return { kind: 'failed', durationMs: outcome.durationMs, error: { kind: 'kernel_died', message: 'the kernel answered a block run with a verdict' } };
    }
  };

  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();

  /** Ends the groups (fanned-out blocks' own runs) that can end, and marks running the ones whose children started. */
  const settleGroups = async (): Promise<boolean> => {
    let changed = false;
    for (const g of groups()) {
      const s = statusOf(g);
      if (isFinished(s)) continue;
      const outcome = fan.groupOutcome(g, (n) => blocks.get(n)?.status);
      if (outcome) {
        // Children that all ran between two looks still started it: its run has a start time.
        if (s !== 'running' && fan.childrenOf(fan.get(g)?.block ?? g).length > 0) await move(g, 'running');
        await move(g, outcome.status, { message: outcome.message });
        changed = true;
      } else if (s !== 'running' && fan.childrenOf(fan.get(g)?.block ?? g).some((c) => statusOf(c.name) !== 'initial' && statusOf(c.name) !== 'queued')) {
        await move(g, 'running');
      }
    }
    return changed;
  };

  const released = new Set<string>();
  let failure: unknown = null;
  try {
    for (;;) {
      if (!stoppedBy && !draining()) {
        for (let changed = true; changed && !stoppedBy && !draining(); ) {
          changed = await settleGroups();
          const view = statuses();
          for (const u of inFlight.keys()) view.set(u, 'running');
          const nodes = fan.all().map((n) => ({ uuid: n.name, upstream: n.upstream }));
          const next = decideNext({ nodes, statuses: view, groups: groups() });
          for (const u of next.upstreamFailed) await move(u, 'upstream_failed');
          for (const u of next.conditionFailed) await move(u, 'condition_failed', { message: 'an upstream block was skipped by its conditional' });
          if (next.upstreamFailed.length + next.conditionFailed.length > 0) changed = true;
          for (const u of next.start) {
            const node = fan.get(u);
            const spec = node ? specs.get(node.block) : undefined;
            if (node && req.runsHere && !req.runsHere(node.block)) {
              elsewhere.add(u);
              continue;
            }
            if (inFlight.size >= concurrency || !node || !spec) break;
            inFlight.set(
              u,
              runBlock(node, spec).finally(() => inFlight.delete(u)),
            );
          }
        }
      }
      // Only while blocks still run or wait: at the end the kernel is about to go anyway.
      if (req.releaseOutputs && [...blocks.keys()].some((u) => !isFinished(statusOf(u)))) {
        const unneeded = fan.unneeded((n) => blocks.get(n)?.status).filter((u) => !released.has(u) && !isSensor(u));
        for (const u of unneeded) released.add(u);
        kernel.release(unneeded.map(outputName));
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
  } catch (e) {
    // A hook failed (the host can no longer record the run): stop the blocks still running.
    failure = e;
    void kernel.interrupt();
    await Promise.allSettled(inFlight.values());
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
  }
  // Callbacks may still print: the kernel's lines are told until they have ended.
  const stopListening = async () => {
    await Promise.allSettled(callbacksRunning);
    stopLogs();
    stopProgress();
  };
  if (failure !== null) {
    await stopListening();
    throw failure;
  }
  // Drained with blocks left to run: handed back as a shutdown is, to resume elsewhere.
  if (stoppedBy === null && draining() && [...blocks.keys()].some((u) => !isFinished(statusOf(u)))) stoppedBy = 'shutdown';
  const waitingElsewhere = [...elsewhere].filter((u) => !isFinished(statusOf(u)));
  if (stoppedBy === null && waitingElsewhere.length > 0) stoppedBy = 'handoff';
  if (stoppedBy === 'shutdown' || stoppedBy === 'handoff') {
    await stopListening();
    await hooks.settled();
    return { runId, status: pipelineStatusOf([...statuses().values()]), stoppedBy, blocks, ...(stoppedBy === 'handoff' ? { elsewhere: waitingElsewhere } : {}) };
  }
  // Cancelled blocks' onCancelled runs once the interrupt is over (it would have stopped them).
  for (const node of cancelledWaiting) callbacksRunning.push(runCallbacks(node, 'cancelled', blocks.get(node.name)?.error));
  await stopListening();
  // Anything still waiting could never start: its upstream was cancelled, or the run was.
  for (const u of blocks.keys()) {
    const s = statusOf(u);
    if (s === 'queued' || s === 'initial' || s === 'running') await move(u, stoppedBy ? 'cancelled' : 'upstream_failed', stoppedBy ? { message: 'the run was cancelled' } : {});
  }
  const status = pipelineStatusOf([...statuses().values()]);
  await hooks.emit({ type: 'run_status', runId, status, blocks: planned });
  return { runId, status, stoppedBy, blocks };
}
