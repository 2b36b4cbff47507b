import { executionDateFrom } from '../engine/runtime-variables';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { RunLifecycleHooks } from '../engine/lifecycle-hooks';
import { loadRunSettings } from '../engine/run-settings';
import { runPipeline } from '../engine/run-engine';
import { errorMessage, invalidInput, notFound } from '../errors';
import { KernelHost } from '../kernel/host';
import { type KernelStandby } from '../kernel/standby';
import { planRun } from '../run/plan';
import { recordLiveRun } from '../store/live-run';
import { type JsonValue } from '../pipeline/model';
import { variablesSchema } from '../protocol/json';
import { exists } from '../project/files';
import { dataDirOf, workspaceDataDir } from '../project/paths';
import { openDatabase } from '../db/database';
import { fanOutText, formatCount, formatDuration, pad } from './format';
import { parseCallbackFailure, parsePokeLine } from '../ui/run-log-lines';
import { openRunHistory } from './run-history';
import { cliRuns } from './cli-runs';
import { pipelineMentionsSecrets, runSecrets, type RunSecrets } from './run-secrets';

export function parseRuntimeVars(text: string | undefined): Record<string, JsonValue> {
  if (text === undefined) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw invalidInput(`--runtime-vars is not valid JSON: ${errorMessage(e)}`);
  }
  const parsed = variablesSchema.safeParse(data);
  if (!parsed.success) throw invalidInput(`--runtime-vars must be a JSON object, e.g. '{"year": 2020}'`);
  return parsed.data;
}

/** `--timeout`: seconds for the whole run, a positive number. */
export function parseRunTimeout(text: string | undefined): number | null {
  if (text === undefined) return null;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw invalidInput(`--timeout must be a positive number of seconds, e.g. --timeout 3600 (got "${text}")`);
  return seconds;
}

interface Out {
  write(text: string): void;
}

export interface RunCommandOptions {
  /** `--runtime-vars`: a JSON object. */
  runtimeVars?: string;
  /** `--timeout`: seconds for the whole run. */
  timeout?: string;
  /** `--no-record`: keep the run out of the run history. Default: recorded when a history is reachable. */
  record?: boolean;
  /** `--no-cache`: cached blocks run anyway and save their new output. Default: cached outputs are reused. */
  useCache?: boolean;
  /** A kernel started ahead of this run (main.ts starts it before this module loads). */
  standby?: KernelStandby;
  /** A run a block of another run started (ctx.runs.trigger): its variables, date, id and the chain above it. */
  nested?: { variables: Record<string, JsonValue>; executionDate: Date; runId: string; chain: readonly string[]; startedBy: string };
}

/**
 * `grimoire run`: the whole pipeline in dependency order through the run engine, with the
 * retry_config and timeouts of every level, printing each block's moves, attempts and row counts;
 * true when every block completed.
 */
export async function runCommand(projectPath: string, pipelineUuid: string, options: RunCommandOptions, out: Out): Promise<boolean> {
  const variables = options.nested?.variables ?? parseRuntimeVars(options.runtimeVars);
  // A past day re-run from the command line: --runtime-vars '{"ds": "2022-08-18"}'.
  // Checked before the kernel starts: a bad date exits at once.
  const executionDate = options.nested?.executionDate ?? executionDateFrom(variables, new Date());
  const runTimeout = parseRunTimeout(options.timeout);
  const projectDir = path.resolve(projectPath);
  // Without this check a mistyped project path reads as 'pipeline "x" not found (pipelines: none)'.
  if (!(await exists(path.join(projectDir, 'metadata.yaml')))) {
    throw notFound(`no project at ${projectDir}: the project path must be a folder holding the project's metadata.yaml`);
  }
  const settings = await loadRunSettings(projectDir, pipelineUuid);
  const { pipeline } = settings;
  // Known once the database is up; the kernel asks before each block, and no block runs before then.
  let secrets: RunSecrets | null = null;
  // ctx.runs: set once the run history is known (no block runs before that).
  let runs: ReturnType<typeof cliRuns> | null = null;
  // The kernel starts now, while the database comes up (its coordinates follow with the blocks).
  const kernel = new KernelHost({
    projectDir,
    dataDir: dataDirOf(projectDir),
    pipelineUuid,
    // A one-shot batch run, like a trigger's: outputs pass between blocks inside DuckDB and are
    // not written out as Parquet for later (the editor's runs keep theirs).
    cacheDir: null,
    ...(options.standby ? { standby: options.standby } : {}),
    secrets: () => secrets?.values() ?? Promise.resolve({}),
    runs: {
      // Known once the history is open (below); a block asks only after its run started.
      handle: (request, asking, signal) => runs?.handle(request, asking, signal) ?? Promise.resolve({ ok: false, message: 'ctx.runs is not ready: the run has not started' }),
    },
  });
  kernel.warmUp();
  // A project with connection profiles may export to the workspace's Postgres (embedded unless
  // DATABASE_URL says otherwise): start it, and give blocks its coordinates as POSTGRES_* defaults.
  // Blocks that never touch Postgres must still run when the database cannot start: say why, go on.
  // Workspace secrets live there too: a pipeline that reads them needs it even without profiles.
  const needsDatabase = (await exists(path.join(projectDir, 'io_config.yaml'))) || (await pipelineMentionsSecrets(projectDir, pipeline));
  const record = options.record ?? true;
  const database = needsDatabase
    ? await openDatabase(workspaceDataDir(projectDir)).catch((e: unknown) => {
        out.write(`warning: no PostgreSQL for this run (${errorMessage(e).split('\n')[0]}); blocks that export to it will fail\n`);
        return null;
      })
    : // Only to record the run: join a database that runs already, never start one for it (seconds).
      record
      ? await openDatabase(workspaceDataDir(projectDir), process.env, { start: false }).catch(() => null)
      : null;
  if (database && needsDatabase) {
    kernel.setEnvDefaults(database.kernelEnv);
    secrets = runSecrets(database.url, path.dirname(projectDir));
  }
  const history =
    record && database
      ? await openRunHistory(database.url).catch((e: unknown) => {
          out.write(`warning: the run is not recorded in the run history (${errorMessage(e).split('\n')[0]})\n`);
          return null;
        })
      : null;
  if (record && !database) out.write('note: not recorded in the run history: no database runs for this workspace (start `grimoire start`, set DATABASE_URL, or pass --no-record)\n');
  const width = Math.max(...pipeline.blocks.map((b) => b.uuid.length), 5) + 2;
  out.write(`Running ${pipeline.uuid} (${pipeline.blocks.length} blocks) in ${projectDir}\n`);
  const started = performance.now();
  // SIGINT/SIGTERM must stop the kernel too: a block stuck in a loop never notices the IPC channel
  // closing, so without this a terminated `grimoire run` leaves its kernel spinning as an orphan.
  // The first signal cancels the run (SQL is interrupted, JavaScript killed after a grace period);
  // a second one kills the kernel at once.
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      void kernel.close();
      return;
    }
    out.write(`${signal}: cancelling the run\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const hooks = printRun(new RunLifecycleHooks(), out, width);
  const runId = options.nested?.runId ?? randomUUID();
  runs = cliRuns({
    projectDir,
    project: path.basename(projectDir),
    chain: [...(options.nested?.chain ?? []), pipelineUuid],
    history: history?.store ?? null,
    runNested: (nestedPipeline, nestedVariables, nestedDate, nestedRunId) => {
      const indented = { write: (text: string) => out.write(text.replace(/^(?=.)/gm, `  ${pipelineUuid} > `)) };
      return runCommand(
        projectDir,
        nestedPipeline,
        { record: options.record, useCache: options.useCache, nested: { variables: nestedVariables, executionDate: nestedDate, runId: nestedRunId, chain: [...(options.nested?.chain ?? []), pipelineUuid], startedBy: `run:${runId}` } },
        indented,
      );
    },
  });
  const planned = planRun(pipeline.blocks, { kind: 'pipeline' });
  const stopRecording = history
    ? recordLiveRun(
        {
          store: history.store,
          ownerId: history.liveness.ownerId,
          runId,
          kind: 'cli',
          project: path.basename(projectDir),
          projectDir,
          settings,
          planned,
          variables,
          executionDate,
          startedBy: options.nested?.startedBy ?? `cli:${os.userInfo().username}`,
        },
        hooks,
      )
    : null;
  // The kernel ends once the run has (its outputs end with it), while the run's end is printed and recorded.
  let kernelClosed: Promise<void> | null = null;
  try {
    const result = await runPipeline({
      runId,
      executionDate,
      kernel,
      pipeline,
      planned,
      hooks,
      blockConfigs: settings.blockConfigs,
      concurrency: settings.blockRunLimit ?? undefined,
      deadline: runTimeout === null ? null : Date.now() + runTimeout * 1000,
      releaseOutputs: true,
      // Nothing shows a preview and the outputs end with the kernel: a pass-through exporter's output stays a view of its upstream table.
      lazyOutputs: true,
      variables,
      signal: controller.signal,
      ...(options.useCache === false ? { useCache: false } : {}),
    });
    kernelClosed = kernel.close();
    // Runs its blocks started without waiting end before this one reports.
    await runs?.settled();
    const statuses = [...result.blocks.values()].map((b) => b.status);
    const succeeded = statuses.filter((s) => s === 'completed').length;
    const skipped = statuses.filter((s) => s === 'condition_failed').length;
    out.write(
      `${result.status === 'completed' ? 'Completed' : result.status === 'cancelled' ? 'Cancelled' : 'Failed'}: ${succeeded} of ${result.blocks.size} blocks succeeded${skipped > 0 ? `, ${skipped} skipped by a conditional` : ''} in ${formatDuration(performance.now() - started)}\n`,
    );
    if (stopRecording) {
      await stopRecording().then(
        () => out.write(`Recorded in the run history as run ${runId}\n`),
        (e: unknown) => out.write(`warning: the run is not recorded in the run history (${errorMessage(e).split('\n')[0]})\n`),
      );
    }
    return result.status === 'completed';
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Side by side (the database they use closes last): ~15 ms of every run's end. Each is
    // awaited whatever another does; the first failure is thrown once all have ended.
    const closed = await Promise.allSettled([kernelClosed ?? kernel.close(), secrets?.close(), history?.close()]);
    await database?.close();
    const failed = closed.find((c) => c.status === 'rejected');
    if (failed?.status === 'rejected') throw failed.reason;
  }
}

/**
 * The CLI's lifecycle hooks: a line per block move (with rows and time when it ends), each retry
 * with its wait, the block's log lines indented under its name, and errors with file and line.
 * The block kinds get lines of their own: a dynamic block's fan-out (its children named, a long
 * list cut short), each sensor poke as a `waiting` line, a block skipped by its conditional
 * (condition_failed) as `skipped` with the reason, and a callback that threw.
 */
function printRun(hooks: RunLifecycleHooks, out: Out, width: number): RunLifecycleHooks {
  const rowsOf = new Map<string, number>();
  // Children's names (`<uuid>:<key>`) are longer than the pipeline's: the column grows to fit them.
  let column = width;
  const line = (block: string, status: string, figures: readonly string[]) => {
    column = Math.max(column, block.length + 2);
    out.write(`${`${pad(block, column)}${pad(status, 16)}${figures.filter(Boolean).join('  ')}`.trimEnd()}\n`);
  };
  return hooks
    .on('log', (e) => {
      for (const text of e.text.replace(/\n$/, '').split('\n')) {
        const poke = e.stream === 'stdout' ? parsePokeLine(text) : null;
        if (poke) line(e.block, poke.satisfied ? 'satisfied' : 'waiting', [poke.satisfied ? `poke ${poke.poke}` : `poke ${poke.poke}: not yet; next in ${poke.nextInS ?? 0} s`]);
        // Said once, by the `callback` event below.
        else if (!(e.stream === 'stderr' && parseCallbackFailure(text))) out.write(`  [${e.block}] ${text}\n`);
      }
    })
    .on('block_runs_added', (e) => {
      line(e.parent, 'fanned out', [fanOutText(e.blocks)]);
    })
    .on('callback', (e) => {
      if (e.error) line(e.block, 'callback failed', [`${e.callback}.${e.hook}: ${e.error.message}`]);
    })
    .on('output', (e) => {
      rowsOf.set(e.block, e.preview.rowCount);
    })
    .on('block_error', (e) => {
      const where = e.error.file ? ` (${e.error.file}${e.error.line ? `:${e.error.line}` : ''})` : '';
      out.write(`  error${where}: ${e.error.message}\n`);
    })
    .on('block_status', (e) => {
      if (e.status === 'initial') return;
      // A queued block is worth a line only when it waits for a retry (or runs again for a reason).
      if (e.status === 'queued' && e.message === undefined) return;
      const rows = e.status === 'completed' ? rowsOf.get(e.block) : undefined;
      // Why it moved, where that is news: a retry's wait, a skip, a cancel, and a fanned-out block's
      // own run (no attempt of its own) ending with its children ("3 of 3 children completed").
      const why = e.message !== undefined && (e.status === 'queued' || e.status === 'condition_failed' || e.status === 'cancelled' || (e.attempt === undefined && e.status !== 'running')) ? e.message : '';
      const figures = [
        e.status === 'running' && e.attempt !== undefined && e.attempt > 1 ? `attempt ${e.attempt}` : '',
        why,
        rows === undefined ? '' : `${formatCount(rows)} ${rows === 1 ? 'row' : 'rows'}`,
        e.durationMs === undefined ? '' : formatDuration(e.durationMs),
        e.cached ? '(cached)' : '',
      ];
      // Mage's condition_failed is a skip, not a failure: said so, with its name kept beside it.
      if (e.status === 'condition_failed') line(e.block, 'skipped', [...figures, '(condition_failed)']);
      else line(e.block, e.status, figures);
    });
}
