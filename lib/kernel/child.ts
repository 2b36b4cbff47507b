/**
 * The kernel process: runs user blocks for one pipeline, away from the server process, so that a
 * crash, an endless loop or `process.exit` in user code never takes the server down.
 * Started by KernelHost with: GRIMOIRE_PROJECT_DIR, GRIMOIRE_DATA_DIR, GRIMOIRE_PIPELINE.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { format } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { preloadPostgresDriver } from '../io/postgres-client';
import { warmUpEncoder } from '../io/pg-binary';
import { IdleWarmUp } from './idle-warm-up';
import { mentionsObjectStorage, preloadObjectStore } from '../io/object-store';
import { BlockExitError } from './block-exit';
import { executeBlock, toBlockError, type KernelEnv } from './execute-block';
import { kernelCommandSchema, kernelInitSchema, OUTPUT_COPIES, type KernelCommand, type KernelEvent } from './ipc';
import { OutputStore } from './outputs';
import { BlockProgressReporter } from './progress';
import { killOwnGroup, watchParent } from './process-group';
import { ProfileDatabases } from './profile-database';
import { spillDirectory } from './spill';
import { quoteLiteral } from '../sql-quote';
import { ThreadShare } from './thread-share';
import { redactKnown, rememberSecrets } from './secrets';
import { OutputDescriptions, queryOutput } from './query-output';
import { outputName } from '../run/fan-out';
import { RunsClient } from './runs-client';

/** The attached in-memory database that holds block outputs; every connection USEs it. */
const OUTPUTS_DATABASE = 'grimoire';

const current = new AsyncLocalStorage<{ runId: string; block: string }>();

function send(event: KernelEvent): void {
  // Copies finishing after the host hung up (it is closing the kernel) have nobody to tell.
  if (process.connected) process.send?.(event);
}

/** stderr as it is before blocks' output is captured: for the kernel's own last words. */
const kernelStderr = process.stderr.write.bind(process.stderr);
const realExit = process.exit.bind(process);

/**
 * Blocks being executed, by `<runId>/<block>`. Each execution is its own entry, so one answered
 * for early (see onUncaught) is told apart from a retry of the same block that runs meanwhile.
 */
const running = new Map<string, { cmd: Extract<KernelCommand, { type: 'execute' }> }>();

const MAX_LOG_CHARS = 1_000_000;
const logged = new Map<string, number>();

/** Console output of a block goes to the host tagged with the block; anything else to stderr. */
function capture(stream: 'stdout' | 'stderr', text: string): boolean {
  const owner = current.getStore();
  if (!owner) return false;
  const key = `${owner.runId}/${owner.block}`;
  const sent = logged.get(key) ?? 0;
  if (sent >= MAX_LOG_CHARS) return true;
  const room = MAX_LOG_CHARS - sent;
  const chunk = text.length > room ? `${text.slice(0, room)}\n[output truncated after ${MAX_LOG_CHARS} characters]\n` : text;
  logged.set(key, sent + chunk.length);
  send({ type: 'log', runId: owner.runId, block: owner.block, stream, text: redactKnown(chunk) });
  return true;
}

function installConsoleCapture(): void {
  const methods = [
    ['log', 'stdout'],
    ['info', 'stdout'],
    ['debug', 'stdout'],
    ['warn', 'stderr'],
    ['error', 'stderr'],
  ] as const;
  for (const [method, stream] of methods) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      if (!capture(stream, format(...args) + '\n')) original(...args);
    };
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const target = process[stream];
    const original = target.write.bind(target);
    target.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      if (capture(stream, text)) {
        const cb = rest.find((r) => typeof r === 'function');
        if (typeof cb === 'function') cb();
        return true;
      }
      return original(chunk as string, ...(rest as []));
    }) as typeof target.write;
  }
  // A block must not end the kernel: make process.exit() a block error instead.
  process.exit = ((code?: number | string | null) => {
    const owner = current.getStore();
    if (owner) throw new BlockExitError(code, owner.runId, owner.block);
    return realExit(code ?? undefined);
  }) as typeof process.exit;
}

/**
 * An exception nobody caught. process.exit called from a block's timer or callback throws outside
 * the block's call stack, so it lands here: the block fails at once with the same message as a
 * direct call, and the kernel lives on, as after a direct call (whatever the block returns later
 * is dropped, see executeBlock). Anything else ends the kernel as Node would, its stack on stderr
 * for the host's "kernel exited" message.
 */
function onUncaught(env: KernelEnv, e: unknown): void {
  if (!(e instanceof BlockExitError)) {
    kernelStderr(`kernel: uncaught exception: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    realExit(1);
    return;
  }
  const key = `${e.runId}/${e.block}`;
  const entry = running.get(key);
  // The block had already finished: the exit is refused, as a direct call's is, and that is all.
  if (!entry) return;
  running.delete(key);
  logged.delete(key);
  send({ type: 'block_done', runId: e.runId, block: e.block, outcome: { status: 'failed', durationMs: 0, error: toBlockError(e, entry.cmd, env) } });
}

/**
 * DuckDB with the kernel's settings and the outputs database attached. Independent of the
 * pipeline (its spill folder is set once the kernel knows its data folder), so a standby kernel
 * opens it while it waits for its init: ~40 ms less between adoption and the first block.
 */
async function openDuckDB(): Promise<{ instance: DuckDBInstance; tuning: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(':memory:', {
    // Extensions that need a download are unavailable offline: fail clearly instead of hanging.
    autoinstall_known_extensions: 'false',
    // Bounded so that big outputs spill to disk instead of growing the kernel (GRIMOIRE_DUCKDB_MEMORY to change).
    // DuckDB's own buffers are not all it holds: at 500 MB the 5M-row homework peaked at 900-980 MB
    // in all, at 450 MB at ~800 MB, for ~0.2 s more.
    memory_limit: process.env.GRIMOIRE_DUCKDB_MEMORY ?? '450MB',
    preserve_insertion_order: 'true',
  });
  // Outputs live in a compressed in-memory database: as fast as plain memory for the homework's
  // 267k rows (a database file compressed and wrote every output, ~30% slower), and at 5M rows
  // compression keeps more in memory before DuckDB has to spill.
  const tuning = await instance.connect();
  await tuning.run(`ATTACH ':memory:' AS ${OUTPUTS_DATABASE} (COMPRESS)`);
  return { instance, tuning };
}

async function main(opened: Promise<{ instance: DuckDBInstance; tuning: DuckDBConnection }>): Promise<void> {
  const projectDir = process.env.GRIMOIRE_PROJECT_DIR;
  const dataDir = process.env.GRIMOIRE_DATA_DIR;
  const pipelineUuid = process.env.GRIMOIRE_PIPELINE;
  if (!projectDir || !dataDir || !pipelineUuid) throw new Error('kernel started without GRIMOIRE_PROJECT_DIR/DATA_DIR/PIPELINE');
  process.setSourceMapsEnabled(true);
  process.chdir(projectDir);
  // The data directory's lake/ is where exports put Parquet; DuckDB's COPY creates only the leaf folder.
  await mkdir(path.join(dataDir, 'lake'), { recursive: true });
  const { instance, tuning } = await opened;
  // Set before anything ran, so nothing has spilled anywhere else yet.
  await tuning.run(`SET temp_directory = ${quoteLiteral(await spillDirectory(dataDir))}`);
  // Block connections a completed block left as they were opened: the next block takes one
  // instead of paying for a new connection and its settings (3 statements, ~1 ms).
  const idleBlockConnections: DuckDBConnection[] = [];
  const connect = async (options?: { progress: boolean }) => {
    const reused = options?.progress ? idleBlockConnections.pop() : undefined;
    if (reused) return reused;
    const connection = await instance.connect();
    // DuckDB tracks a statement's progress only with its progress bar on, kept from printing.
    const progress = options?.progress ? '; SET enable_progress_bar = true; SET enable_progress_bar_print = false' : '';
    await connection.run(`USE ${OUTPUTS_DATABASE}${progress}`);
    return connection;
  };
  const cores = Number((await tuning.runAndReadAll("SELECT current_setting('threads')")).getRowsJS()[0]?.[0] ?? 1);
  const threads = new ThreadShare(tuning, cores, (e) => process.stderr.write(`kernel: could not resize DuckDB's threads: ${e instanceof Error ? e.message : String(e)}\n`));
  const control = await connect();
  const connections = new Set<DuckDBConnection>();
  const runs = new RunsClient(send);
  const env: KernelEnv = {
    connect,
    release: (connection, reusable) => {
      if (reusable && idleBlockConnections.length < 4) idleBlockConnections.push(connection);
      else connection.closeSync();
    },
    store: new OutputStore(process.env.GRIMOIRE_CACHE_DIR === '' ? null : (process.env.GRIMOIRE_CACHE_DIR ?? path.join(dataDir, 'cache', pipelineUuid)), control, connect),
    projectDir,
    dataDir,
    pipelineUuid,
    buildDir: path.join(dataDir, 'build', pipelineUuid),
    connections,
    databases: new ProfileDatabases(),
    log: (text) => process.stderr.write(text),
    outputCopies: OUTPUT_COPIES.find((m) => m === process.env.GRIMOIRE_OUTPUT_COPIES) ?? 'wait',
    runs: (cmd) => runs.forBlock(cmd),
  };
  // Each output is described once, when its block completes; pages of it reuse that.
  const descriptions = new OutputDescriptions();
  installConsoleCapture();
  // The first block is usually a loader that keeps DuckDB busy and leaves this thread idle: load
  // the Postgres driver and warm the export's encoder then, not when the export competes for the
  // CPU, and not in the middle of a chain of quick blocks either.
  const warmUp = new IdleWarmUp(() => {
    preloadPostgresDriver();
    warmUpEncoder();
    // The AWS SDK costs ~250 ms to load: ahead of need only for projects with object-storage keys.
    if (mentionsObjectStorage(env.projectDir)) preloadObjectStore();
  });
  process.on('message', (raw: unknown) => {
    const parsed = kernelCommandSchema.safeParse(raw);
    if (!parsed.success) {
      process.stderr.write(`kernel: ignored malformed command: ${parsed.error.message}\n`);
      return;
    }
    const cmd = parsed.data;
    switch (cmd.type) {
      case 'execute': {
        for (const [key, value] of Object.entries(cmd.envDefaults ?? {})) if (process.env[key] === undefined) process.env[key] = value;
        // Before the block runs: whatever it prints from now on has these values hidden.
        rememberSecrets(Object.values(cmd.secrets));
        const runKey = `${cmd.runId}/${cmd.name}`;
        const entry = { cmd };
        running.set(runKey, entry);
        warmUp.blockStarted();
        const work = () =>
          executeBlock(
            cmd,
            env,
            (connection) => new BlockProgressReporter(connection, (progress) => send({ type: 'block_progress', runId: cmd.runId, block: cmd.name, progress })),
            () => running.get(runKey) !== entry,
          );
        // Only a block's own execution makes an output (a poke, verdict or callback leaves it alone).
        void current
          .run({ runId: cmd.runId, block: cmd.name }, () => threads.around(() => (cmd.role.kind === 'block' ? descriptions.track(outputName(cmd.name), work) : work())))
          .then((outcome) => {
            warmUp.blockEnded();
            // Answered for already (see onUncaught): the host has its outcome.
            if (running.get(runKey) !== entry) return;
            running.delete(runKey);
            logged.delete(runKey);
            send({ type: 'block_done', runId: cmd.runId, block: cmd.name, outcome });
          });
        return;
      }
      case 'interrupt':
        for (const c of connections) c.interrupt();
        return;
      case 'release':
        env.store.release(cmd.blocks).catch((e: unknown) => process.stderr.write(`kernel: could not release ${cmd.blocks.join(', ')}: ${e instanceof Error ? e.message : String(e)}\n`));
        return;
      case 'query_output':
        void queryOutput(connect, env.store, cmd.block, cmd.query, descriptions).then(
          (answer) => send({ type: 'output_answer', requestId: cmd.requestId, result: { ok: true, answer } }),
          (e: unknown) => send({ type: 'output_answer', requestId: cmd.requestId, result: { ok: false, message: e instanceof Error ? e.message : String(e) } }),
        );
        return;
      case 'runs_answer':
        runs.answer(cmd.requestId, cmd.answer);
        return;
      default: {
        const never: never = cmd;
        throw new Error(`unhandled command ${JSON.stringify(never)}`);
      }
    }
  });
  process.on('uncaughtException', (e) => onUncaught(env, e));
  // A user promise rejected with nobody listening must not kill the kernel.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`kernel: unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
  });
  // The host let go: finish writing the output cache, then leave (exit handlers remove scratch files).
  process.on('disconnect', () => {
    void env.store.flush().finally(() => process.exit(0));
  });
  process.on('SIGTERM', () => {
    void env.store.flush().finally(() => process.exit(0));
  });
  // Ctrl-C in a terminal signals the whole process group, this kernel included. Its host decides
  // what a Ctrl-C means (`grimoire run` cancels the run: SQL interrupted, then the kernel
  // stopped), so the kernel must not die of it first and turn a cancel into a crash.
  process.on('SIGINT', () => undefined);
  // Last of the exit handlers (the scratch folder's is earlier): processes that blocks started
  // end with the kernel, whichever way it exits, instead of living on without a parent.
  process.on('exit', killOwnGroup);
  send({ type: 'ready', pid: process.pid });
  // Off the start-up path: its thread costs a few milliseconds to start.
  setTimeout(watchParent, 50);
}

/**
 * A standby kernel (GRIMOIRE_STANDBY=1, see standby.ts) has loaded everything above and waits for
 * a host to adopt it: the init message gives the settings other kernels get in their environment.
 * A host that goes away first ends it.
 */
function standBy(): Promise<void> {
  return new Promise((resolve, reject) => {
    const leave = () => process.exit(0);
    process.once('disconnect', leave);
    process.once('message', (raw: unknown) => {
      process.off('disconnect', leave);
      const parsed = kernelInitSchema.safeParse(raw);
      if (!parsed.success) {
        reject(new Error(`a standby kernel needs its init first: ${parsed.error.message}`));
        return;
      }
      Object.assign(process.env, parsed.data.settings);
      delete process.env.GRIMOIRE_STANDBY;
      resolve();
    });
    send({ type: 'standby' });
  });
}

// A standby kernel opens DuckDB while it waits for its init; others right away.
const opened = openDuckDB();
opened.catch(() => undefined);
(process.env.GRIMOIRE_STANDBY === '1' ? standBy() : Promise.resolve()).then(() => main(opened)).catch((e: unknown) => {
  process.stderr.write(`kernel failed to start: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
