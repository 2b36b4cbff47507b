import { readFileSync } from 'node:fs';
import { exists } from '../project/files';
import path from 'node:path';
import { requirePostgres, requireProfile, type IoProfile } from '../io/io-config';
import { lakeQuery } from '../io/lake';
import { readQuery } from '../io/sources';
import { sqlLakes } from './object-io';
import { isObjectUrl } from '../io/object-path';
import { connectPostgres } from '../io/postgres-client';
import { loadPostgresQuery } from '../io/postgres-load';
import { loadIntoTempTable } from '../io/postgres-export';
import { readDestination, type Destination } from '../pipeline/destination';
import { loadProfiles, makeBlockIo, warnTextNumerics, writeDestination } from './block-io';
import { type DuckDBConnection } from '@duckdb/node-api';
import { renderSqlTemplate, SqlTemplateError } from '../pipeline/sql-template';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';
import { safeJoin } from '../access/path-guard';
import { BlockCache, cacheKey, inputFingerprint } from './block-cache';
import { lookupSecret } from '../pipeline/secret-ref';
import { type BlockError, type OutputPreview } from '../protocol/run-events';
import { type BlockContext, type BlockRuns, type DataFrame } from './block-api';
import { BlockExitError } from './block-exit';
import { compileBlock, CompileError, locateInStack } from './compile-ts';
import { describe, describeWithHead, Frame, QuerySession, reportedCount, SqlQuery, SqlStatementError, sqlTemplate } from './frames';
import { createTableFromRows, previewValueConverter } from './duck-values';
import { type BlockOutcome, type KernelCommand, type OutputCopies } from './ipc';
import { MissingUpstreamError, OutputNotSavedError, type OutputKind, type OutputStore } from './outputs';
import { type LazyOutput } from '../run/lazy-outputs';
import { type ProgressReport } from './progress';
import { type ProfileDatabases } from './profile-database';
import { redactKnown } from './secrets';
import { outputName } from '../run/fan-out';

type Execute = Extract<KernelCommand, { type: 'execute' }>;

export interface KernelEnv {
  /**
   * A new connection to the kernel's outputs database; with `progress`, DuckDB tracks each
   * statement's progress on it (a per-connection setting, made in the same round trip).
   */
  connect: (options?: { progress: boolean }) => Promise<DuckDBConnection>;
  /**
   * Hands a block's connection back when the block completed and its session left it as opened
   * (QuerySession.reusable): the next block skips opening one. Otherwise it is closed.
   */
  release: (connection: DuckDBConnection, reusable: boolean) => void;
  store: OutputStore;
  projectDir: string;
  dataDir: string;
  pipelineUuid: string;
  buildDir: string;
  /** Profile databases (DUCKDB_DATABASE) attached while SQL blocks use them. */
  databases: ProfileDatabases;
  /** Every live block connection, so an interrupt can reach running SQL. */
  connections: Set<import('@duckdb/node-api').DuckDBConnection>;
  log: (text: string) => void;
  /**
   * When a completed block's Parquet copy must be on disk. `wait`: before the block is answered
   * for (runs that resume after a crash: workers). `background`: behind the answer, failures only
   * logged (the editor, whose runs are never resumed: a lost copy only means running the block
   * again after a restart).
   */
  outputCopies: OutputCopies;
  /** `ctx.runs` for a block run: asks the kernel's host, which reaches the run store. */
  runs: (cmd: Execute) => BlockRuns;
}

/**
 * The temporary table the upstream at `index` (0-based, in upstream_blocks order) takes in Postgres
 * for a block whose SQL runs there: by position, since Postgres cuts names at 63 bytes and two
 * long uuids could otherwise end up as one table.
 */
function postgresUpstreamTable(index: number): string {
  return `grimoire_upstream_${index + 1}`;
}

/** Writing a completed block's output to its `configuration.destination` failed. */
class DestinationError extends Error {
  constructor(destination: Destination, cause: unknown) {
    const where =
      destination.type === 'postgres'
        ? `postgres ${destination.schema ?? '(profile schema)'}.${destination.table}, profile ${destination.profile}`
        : `parquet ${destination.path}${isObjectUrl(destination.path) ? `, profile ${destination.profile}` : ''}`;
    super(`the block ran, but its destination (${where}) failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DestinationError';
  }
}

class BlockTestError extends Error {
  constructor(
    readonly test: string,
    readonly reason: unknown,
  ) {
    super(`test ${test} failed: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = 'BlockTestError';
  }
}

class InvalidBlockError extends Error {}

let staging = 0;

/** Turns whatever a TypeScript block returned into the staging table; its row count when known. */
async function storeResult(session: QuerySession, result: unknown, target: string, hints: ReadonlyMap<string, string>): Promise<number | null> {
  if (result === undefined || result === null) {
    await createTableFromRows(session.connection, target, []);
    return 0;
  } else if (result instanceof SqlQuery) {
    return session.materialize(result.sql, target, false);
  } else if (result instanceof Frame) {
    return reportedCount(await session.connection.runAndReadAll(`CREATE TABLE ${quoteIdentifier(target)} AS SELECT * FROM ${result.table}`));
  } else if (Array.isArray(result)) {
    const bad = result.findIndex((r) => r === null || typeof r !== 'object' || Array.isArray(r));
    if (bad >= 0) throw new InvalidBlockError(`the block returned an array whose item ${bad} is not an object`);
    await createTableFromRows(session.connection, target, result, false, hints);
    return result.length;
  } else {
    throw new InvalidBlockError(
      `the block returned ${typeof result === 'object' ? 'an object' : typeof result}; return an array of objects, a DataFrame, ctx.sql\`...\` or nothing`,
    );
  }
}

/** What a block's failure `e` tells its user: kind, message, and where in the block file when known. */
export function toBlockError(e: unknown, cmd: Execute, env: KernelEnv): BlockError {
  // A conditional's or callback's failure points into its own file.
  const file = cmd.role.kind === 'condition' || cmd.role.kind === 'callback' ? cmd.role.addOn.file : cmd.block.file;
  const absolute = path.join(env.projectDir, file);
  if (e instanceof MissingUpstreamError) return { kind: 'missing_upstream', message: e.message };
  if (e instanceof SqlTemplateError) return { kind: 'template', message: e.message, file };
  if (e instanceof CompileError) return { kind: 'exception', message: e.message, file, line: e.line, column: e.column };
  if (e instanceof InvalidBlockError) return { kind: 'invalid_block', message: e.message, file };
  if (e instanceof OutputNotSavedError) return { kind: 'exception', message: e.message, file };
  // Not the block's code: no line of its file to point at.
  if (e instanceof DestinationError) return { kind: /INTERRUPT/i.test(e.message) ? 'interrupted' : 'destination', message: e.message };
  if (e instanceof BlockExitError) {
    // The message says it all; the kernel's own frames of process.exit would only add noise.
    const at = locateInStack(e.stack, absolute);
    return { kind: 'exception', message: e.message, file, line: at?.line, column: at?.column };
  }
  if (e instanceof SqlStatementError) {
    // DuckDB's "LINE n:" counts inside the statement; without one, point at the statement itself.
    const rel = /LINE (\d+):/.exec(e.message);
    const line = cmd.block.language === 'sql' ? (rel ? Number(rel[1]) : 1) + e.statement.lineOffset : undefined;
    const interrupted = /INTERRUPT/i.test(e.message);
    return { kind: interrupted ? 'interrupted' : 'sql', message: interrupted ? 'interrupted' : e.message, file, line };
  }
  const cause = e instanceof BlockTestError ? e.reason : e;
  const stack = cause instanceof Error ? cause.stack : undefined;
  const at = locateInStack(stack, absolute);
  const message = e instanceof Error ? e.message : `the block threw ${JSON.stringify(e) ?? String(e)}`;
  const kind = e instanceof BlockTestError ? 'test' : /INTERRUPT/i.test(message) ? 'interrupted' : 'exception';
  return {
    kind,
    message: e instanceof Error && !(e instanceof BlockTestError) ? `${e.name}: ${e.message}` : message,
    file,
    line: at?.line,
    column: at?.column,
    // The kernel's own frames (its sources, or its start-up bundle) say nothing about the block.
    stack: stack?.split('\n').filter((l) => !l.includes('/lib/kernel/') && !l.includes('kernel-child.cjs')).join('\n'),
  };
}

/** Compiles and loads a TypeScript file of the project (a block's or an add-on's) afresh; its exports. */
async function loadModule(file: string, buildName: string, env: KernelEnv): Promise<Record<string, unknown>> {
  const absolute = path.join(env.projectDir, file);
  const compiled = await compileBlock(absolute, env.buildDir, buildName);
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(path.join(env.buildDir, `${buildName}.`))) delete require.cache[key];
  }
  const mod: unknown = require(compiled);
  return mod && typeof mod === 'object' ? { ...mod } : {};
}

/** The `ctx` every TypeScript function of a block run gets (its block, sensor, conditional, callbacks). */
function blockContext(cmd: Execute, env: KernelEnv, session: QuerySession, profiles: ReadonlyMap<string, IoProfile>, progress: ProgressReport): BlockContext {
  return {
    variables: cmd.variables,
    executionDate: new Date(cmd.executionDate),
    blockUuid: cmd.block.uuid,
    blockRunName: cmd.name,
    runId: cmd.runId,
    pipelineUuid: env.pipelineUuid,
    projectDir: env.projectDir,
    dataDir: env.dataDir,
    log: (...args: unknown[]) => console.log(...args),
    sql: sqlTemplate,
    query: (sql) => session.query(sql),
    fromRows: (rows) => session.fromRows(rows),
    io: makeBlockIo(session, env, profiles, progress),
    secrets: { get: (name) => lookupSecret(cmd.secrets, name) },
    runs: env.runs(cmd),
  };
}

/**
 * The table expression each upstream is read from, in `block.upstream` order: its output, one row
 * of it (a dynamic child's item), or several outputs one after the other (reduce_output).
 */
export function inputTables(cmd: Execute): string[] {
  return cmd.block.upstream.map((u, i) => {
    const input = cmd.inputs?.[i] ?? { kind: 'output' as const, name: u };
    switch (input.kind) {
      case 'output':
        return quoteIdentifier(outputName(input.name));
      case 'item':
        return `(SELECT * FROM ${quoteIdentifier(outputName(input.name))} LIMIT 1 OFFSET ${input.row})`;
      case 'combined':
        // No child completed: an empty table (it has to have a column).
        if (input.names.length === 0) return '(SELECT NULL AS no_items WHERE false)';
        return `(${input.names.map((n) => `SELECT * FROM ${quoteIdentifier(outputName(n))}`).join(' UNION ALL BY NAME ')})`;
    }
  });
}

/** The outputs an execute reads (by their kept names), to be made visible first. */
function inputOutputs(cmd: Execute): string[] {
  return cmd.block.upstream.flatMap((u, i) => {
    const input = cmd.inputs?.[i] ?? { kind: 'output' as const, name: u };
    return (input.kind === 'combined' ? input.names : [input.name]).map(outputName);
  });
}

/** The cache key of a cached block's execution (block-cache.ts): its code, configuration, inputs and variables. */
async function cacheKeyOf(cmd: Execute, env: KernelEnv, session: QuerySession): Promise<string> {
  const absolute = path.join(env.projectDir, cmd.block.file);
  // TypeScript: the compiled bundle, so a change in a util it imports is a change of code.
  const code = cmd.block.language === 'typescript' ? readFileSync(await compileBlock(absolute, env.buildDir, cmd.block.uuid), 'utf8') : readFileSync(absolute, 'utf8');
  const inputs: string[] = [];
  for (const table of inputTables(cmd)) inputs.push(await inputFingerprint(session.connection, table));
  return cacheKey({ code, configuration: cmd.block.configuration, inputs, variables: cmd.cache?.variables ?? {} });
}

/** Most items a dynamic block may fan out: each becomes a block run of every downstream block. */
const MAX_ITEMS = 10_000;

/**
 * A dynamic block's result split into its items and their keys: `[items, metadata]` (metadata
 * rows carry `block_uuid`) or the items alone (keys are their indexes, known once stored).
 */
function dynamicResult(result: unknown): { items: unknown; keys: string[] | null } {
  if (!Array.isArray(result) || result.length !== 2 || !Array.isArray(result[0]) || !Array.isArray(result[1])) return { items: result, keys: null };
  // Metadata rows are objects: two arrays of anything else are two items (and refused as rows).
  if (!result[1].every((m: unknown) => m !== null && typeof m === 'object' && !Array.isArray(m))) return { items: result, keys: null };
  const items: unknown[] = result[0];
  const metadata: unknown[] = result[1];
  if (metadata.length !== items.length) throw new InvalidBlockError(`the block returned ${items.length} items but ${metadata.length} metadata rows: give one metadata row per item`);
  const keys = metadata.map((m, i) => {
    const key = m !== null && typeof m === 'object' && 'block_uuid' in m ? m.block_uuid : undefined;
    if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) throw new InvalidBlockError(`metadata row ${i} has no block_uuid (a string naming the child block run)`);
    return String(key);
  });
  return { items, keys };
}

async function runTypeScript(
  cmd: Execute,
  env: KernelEnv,
  session: QuerySession,
  target: string,
  profiles: ReadonlyMap<string, IoProfile>,
  progress: ProgressReport,
): Promise<{ rowCount: number | null; keys: string[] | null; runTests: (out: DataFrame) => Promise<void> }> {
  const exports = await loadModule(cmd.block.file, cmd.block.uuid, env);
  const main = exports.default;
  if (typeof main !== 'function') {
    throw new InvalidBlockError(`${cmd.block.file} must have a default export that is a function (export default async function ...)`);
  }
  const inputs = await Promise.all(inputTables(cmd).map((table) => Frame.open(session, table)));
  const ctx = blockContext(cmd, env, session, profiles, progress);
  const returned: unknown = await main(...inputs, ctx);
  const { items: result, keys } = cmd.block.configuration.dynamic === true ? dynamicResult(returned) : { items: returned, keys: null };
  // Returned rows keep the types of the columns the block was given or read where the values still
  // fit them (duck-values.ts); the first upstream that has a column decides its type.
  const hints = new Map([...session.rowTypes, ...[...inputs].reverse().flatMap((f) => f.columns.map((c): [string, string] => [c.name, c.type]))]);
  const rowCount = await storeResult(session, result, target, hints);
  // Mage's @test: every `test*` export runs on the output; a throw fails the block.
  const runTests = async (out: DataFrame) => {
    for (const [name, fn] of Object.entries(exports)) {
      if (!name.startsWith('test') || typeof fn !== 'function') continue;
      try {
        await fn(out, ctx);
      } catch (e) {
        throw new BlockTestError(name, e);
      }
    }
  };
  return { rowCount, keys, runTests };
}

/**
 * Asks a sensor, conditional or callback (`cmd.role`) for its answer. A sensor or conditional in
 * TypeScript answers with what its default export returns (truthy: satisfied, go on); a sensor in
 * SQL with the first column of its first row. A callback's hook (onSuccess, onFailure,
 * onCancelled) is called if the file exports it; it answers true.
 */
async function answer(cmd: Execute, env: KernelEnv, session: QuerySession, target: string, profiles: ReadonlyMap<string, IoProfile>, progress: ProgressReport): Promise<boolean> {
  const role = cmd.role;
  const ctx = blockContext(cmd, env, session, profiles, progress);
  switch (role.kind) {
    case 'block':
      throw new Error('a block run is not asked for an answer');
    case 'sensor': {
      if (cmd.block.language === 'sql') {
        await runSql(cmd, env, session, target, profiles, progress);
        const first = (await session.connection.runAndReadAll(`SELECT * FROM ${quoteIdentifier(target)} LIMIT 1`)).getRows()[0]?.[0];
        await session.connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(target)}`);
        return Boolean(first);
      }
      const exports = await loadModule(cmd.block.file, cmd.block.uuid, env);
      const poke = exports.default;
      if (typeof poke !== 'function') throw new InvalidBlockError(`${cmd.block.file} must have a default export that returns true once the sensor is satisfied`);
      const inputs = await Promise.all(inputTables(cmd).map((table) => Frame.open(session, table)));
      return Boolean(await poke(...inputs, ctx));
    }
    case 'condition': {
      const exports = await loadModule(role.addOn.file, `conditional__${role.addOn.uuid}`, env);
      const check = exports.default;
      if (typeof check !== 'function') throw new InvalidBlockError(`conditional ${role.addOn.uuid}: ${role.addOn.file} must have a default export that returns true (run the block) or false (skip it)`);
      const inputs = await Promise.all(inputTables(cmd).map((table) => Frame.open(session, table)));
      return Boolean(await check(...inputs, ctx));
    }
    case 'callback': {
      const exports = await loadModule(role.addOn.file, `callback__${role.addOn.uuid}`, env);
      const hook = exports[role.hook];
      if (hook === undefined) return true;
      if (typeof hook !== 'function') throw new InvalidBlockError(`callback ${role.addOn.uuid}: its export ${role.hook} must be a function`);
      const callbackCtx: BlockContext = { ...ctx, status: role.status, ...(role.error ? { error: role.error } : {}) };
      await hook(callbackCtx);
      return true;
    }
  }
}

async function runSql(
  cmd: Execute,
  env: KernelEnv,
  session: QuerySession,
  target: string,
  profiles: ReadonlyMap<string, IoProfile>,
  progress: ProgressReport,
): Promise<SqlOutput> {
  // Synchronously: a block file is small, and the promise API costs ~0.3 ms per block in thread-pool trips.
  const text = readFileSync(path.join(env.projectDir, cmd.block.file), 'utf8');
  const provider = cmd.block.configuration.data_provider;
  // In Postgres, {{ df_1 }} names a temporary table of the session holding the upstream's rows
  // (pg_temp: never a table of the database that happens to share the upstream's name).
  const tables = inputTables(cmd);
  const upstreamTable = (index: number) => (provider === 'postgres' ? `pg_temp.${quoteIdentifier(postgresUpstreamTable(index))}` : (tables[index] ?? ''));
  const lakes = sqlLakes((folder) => lakeQuery(path.resolve(env.projectDir, folder)));
  const rendered = renderSqlTemplate(text, {
    upstream: cmd.block.upstream.map((u, i) => ({ uuid: u, table: upstreamTable(i) })),
    variables: cmd.variables,
    executionDate: cmd.executionDate,
    secrets: cmd.secrets,
    extra: { data_dir: env.dataDir, project_dir: env.projectDir, lake: lakes.lake },
  });
  const sql = !lakes.inBuckets() ? rendered : await progress.track('download', () => lakes.resolve(rendered, session.connection, profiles, env.dataDir, (files, hive) => readQuery(files, { format: 'parquet' }, hive)));
  if (provider === 'postgres') {
    // Mage's data_provider: the SQL runs in Postgres and its result becomes the block's output.
    const profile = typeof cmd.block.configuration.data_provider_profile === 'string' ? cmd.block.configuration.data_provider_profile : 'default';
    const config = requirePostgres(profiles, profile);
    session.markChanged();
    const client = await connectPostgres(config, profile);
    try {
      // Only the upstreams the SQL names travel (binary COPY); they end with the session.
      for (const [i, table] of tables.entries()) {
        if (!sql.includes(upstreamTable(i))) continue;
        const { rowCount } = await describe(session.connection, table);
        await progress.track('postgres_export', (update) => loadIntoTempTable(session.connection, table, rowCount, client, postgresUpstreamTable(i)).then((rows) => (update({ rows }), rows)), { total: rowCount });
      }
      const loaded = await progress.track('postgres_load', (update) => loadPostgresQuery(client, sql, session.connection, target, false, (rows) => update({ rows })));
      warnTextNumerics(loaded.textColumns);
    } finally {
      await client.end().catch(() => undefined);
    }
    return { stored: 'table', rowCount: null };
  }
  if (provider !== undefined && provider !== 'duckdb') {
    throw new InvalidBlockError(`data_provider "${String(provider)}" is not supported (duckdb or postgres)`);
  }
  // DuckDB runs the SQL; a profile's DUCKDB_DATABASE file joins it, named after the file. A block
  // that asks for DuckDB or names a profile gets the file, made if need be. A plain SQL block sees
  // the default profile's file only once it exists: a new project's io_config.yaml names
  // data/warehouse.duckdb, and a plain query must not leave that file behind.
  const named = cmd.block.configuration.data_provider_profile;
  const asked = provider === 'duckdb' || typeof named === 'string';
  const profile = typeof named === 'string' ? requireProfile(profiles, named) : profiles.get('default');
  const file = profile?.duckdbDatabase === undefined ? undefined : path.resolve(env.projectDir, profile.duckdbDatabase);
  if (profile && file && (asked || (await exists(file)))) {
    session.markChanged();
    return { stored: 'table', rowCount: await env.databases.with(session.connection, file, profile.name, () => session.materialize(sql, target, false)) };
  }
  // An output copied to Parquet would run its query for the copy: lazy only where none is kept.
  if (cmd.lazyOutput && !lakes.inBuckets() && !env.store.keepsCopies) {
    const view = await lazySqlOutput(cmd, cmd.lazyOutput, session, sql, target, env.store);
    if (view) return { stored: view, rowCount: null };
  }
  return { stored: 'table', rowCount: await session.materialize(sql, target, false) };
}

/**
 * How an SQL block's output was stored: a table (the rows copied, as always) or a view passing an
 * upstream table through (as cheap to count and read as that table).
 */
interface SqlOutput {
  stored: OutputKind;
  /** The table's row count when DuckDB reported it; null when not known yet. */
  rowCount: number | null;
}

/**
 * Makes the output of an SQL block whose run allows it (`lazy`, lib/run/lazy-outputs.ts) a view of
 * the upstream table it passes through (`SELECT * FROM {{ df_1 }}`), which its destination then
 * reads; null when it stays a table: anything but such a pass-through of an upstream table.
 */
async function lazySqlOutput(cmd: Execute, lazy: LazyOutput, session: QuerySession, sql: string, target: string, store: OutputStore): Promise<'view' | null> {
  const passed = /^\s*select\s+\*\s+from\s+("(?:[^"]|"")+")\s*;?\s*$/i.exec(sql)?.[1];
  const index = passed === undefined ? -1 : inputTables(cmd).indexOf(passed);
  const input = index < 0 ? undefined : (cmd.inputs?.[index] ?? { kind: 'output' as const, name: cmd.block.upstream[index] ?? '' });
  const passesTable = input?.kind === 'output' && store.kindOf(outputName(input.name)) === 'table';
  if (lazy !== 'pass_through' || !passesTable) return null;
  if (!(await session.createView(sql, target))) return null;
  return 'view';
}

/**
 * Runs one block to completion (or failure) and publishes its output. Never throws.
 * `watch` is given the block's connection, so progress can follow the statements it runs.
 * `abandoned` says the block was answered for meanwhile (it called process.exit from a timer):
 * whatever it returns then is not published.
 */
export async function executeBlock(
  cmd: Execute,
  env: KernelEnv,
  watch: (connection: DuckDBConnection) => ProgressReport & { stop(): void },
  abandoned: () => boolean = () => false,
): Promise<BlockOutcome> {
  const started = performance.now();
  const connection = await env.connect({ progress: true });
  env.connections.add(connection);
  const progress = watch(connection);
  const session = new QuerySession(connection);
  let completed = false;
  staging += 1;
  const published = outputName(cmd.name);
  const target = `__next_${published}_${process.pid}_${staging}`;
  let profiles: ReadonlyMap<string, IoProfile> = new Map();
  let stored: OutputKind = 'table';
  try {
    await env.store.resolve(inputOutputs(cmd));
    let runTests: (out: DataFrame) => Promise<void> = async () => undefined;
    let knownRowCount: number | null;
    let keys: string[] | null = null;
    profiles = await loadProfiles(env.projectDir, process.env, cmd.secrets);
    if (cmd.role.kind !== 'block') {
      // Its code may do anything with the connection: never reused.
      session.markChanged();
      const value = await answer(cmd, env, session, target, profiles, progress);
      completed = true;
      return { status: 'answered', durationMs: performance.now() - started, value };
    }
    const destination = readDestination(cmd.block.configuration);
    if (!destination.ok) throw new InvalidBlockError(destination.message);
    // configuration.cache: this execution's key, and the saved output when it still holds.
    const cache = cmd.cache ? { store: new BlockCache(safeJoin(env.dataDir, 'block-cache', env.pipelineUuid)), key: await cacheKeyOf(cmd, env, session) } : null;
    const hit = cache && cmd.cache?.mode === 'use' ? await cache.store.lookup(published, cache.key, cmd.cache.expirationMs, new Date()) : null;
    if (hit) {
      session.markChanged();
      await session.connection.run(`CREATE TABLE ${quoteIdentifier(target)} AS SELECT * FROM read_parquet(${quoteLiteral(hit.path)})`);
      knownRowCount = hit.rowCount;
      keys = hit.items ?? null;
      console.log(`cached: reused the output saved at ${hit.savedAt} (its code, inputs and variables are unchanged)`);
    } else if (cmd.block.language === 'typescript') {
      // Its code may do anything with the connection (ctx.query's temp tables, ctx.io): never reused.
      session.markChanged();
      ({ rowCount: knownRowCount, keys, runTests } = await runTypeScript(cmd, env, session, target, profiles, progress));
    } else if (cmd.block.language === 'sql') ({ rowCount: knownRowCount, stored } = await runSql(cmd, env, session, target, profiles, progress));
    else throw new InvalidBlockError(`a ${cmd.block.language} block is not run: it is shown in the notebook only`);
    // Described once, with the preview's rows: the count DuckDB reported when it made the table.
    const described = await describeWithHead(session.connection, quoteIdentifier(target), cmd.previewRows, knownRowCount);
    const output = new Frame(quoteIdentifier(target), described.columns, described.rowCount, session);
    progress.report({ phase: 'output', rows: output.rowCount });
    // A cached output passed its tests when it was saved; it is not run again.
    if (!hit) await runTests(output);
    const dynamic = cmd.block.configuration.dynamic === true;
    if (dynamic && output.rowCount > MAX_ITEMS) throw new InvalidBlockError(`the block returned ${output.rowCount} items; a dynamic block fans out at most ${MAX_ITEMS}`);
    const items = dynamic ? (keys ?? Array.from({ length: output.rowCount }, (_, i) => String(i))) : undefined;
    if (abandoned()) throw new Error(`block ${cmd.name} already failed; its output is dropped`);
    await env.store.publish(published, target, stored, inputOutputs(cmd));
    if (cache && !hit) await cache.store.save(session.connection, published, published, { key: cache.key, savedAt: new Date().toISOString(), rowCount: output.rowCount, ...(items ? { items } : {}) });
    // A cached block did not run: nor does its destination write (its output is the one written then).
    if (destination.value && !hit) {
      session.markChanged();
      const written = { table: quoteIdentifier(published), rowCount: output.rowCount };
      const target = destination.value;
      // The block's code did its part: a failure here is the destination's, and says so.
      console.log(await writeDestination(session, written, target, env, profiles, progress).catch((e: unknown) => Promise.reject(new DestinationError(target, e))));
    }
    const result: OutputPreview = { columns: [...output.columns], rowCount: output.rowCount, rows: described.head.convertRowObjects(previewValueConverter) };
    // Completed means durable where a run may resume: a crash after this answer must find the
    // output on disk. The copy ran meanwhile, beside the destination write and the preview.
    if (env.outputCopies === 'wait') await env.store.durable(published);
    else if (env.outputCopies === 'background') {
      void env.store.durable(published).catch((e: unknown) => env.log(`kernel: the output of ${cmd.name} was not saved as Parquet: ${e instanceof Error ? e.message : String(e)}\n`));
    }
    completed = true;
    return { status: 'completed', durationMs: performance.now() - started, preview: result, ...(items ? { items } : {}), ...(hit ? { cachedAt: hit.savedAt } : {}) };
  } catch (e) {
    await env.store.dropStaging(target, stored).catch(() => undefined);
    const error = toBlockError(e, cmd, env);
    // Connection errors, SQL echoed by DuckDB and user messages must never carry a profile's
    // password or a secret: both are remembered (loadProfiles, the execute command) by now.
    const safe = { ...error, message: redactKnown(error.message), stack: error.stack === undefined ? undefined : redactKnown(error.stack) };
    return { status: 'failed', durationMs: performance.now() - started, error: safe };
  } finally {
    progress.stop();
    env.connections.delete(connection);
    env.release(connection, completed && session.reusable);
  }
}
