/**
 * `npm run bench`: the speed figures users choose Grimoire for, measured side by side in one run.
 * Prints one JSON line per figure (median, min, max over several runs) and a short table.
 * Options: --quick (267k rows only, fewer runs); --skip-<section> or --only <section>, the sections
 * being pipeline, scheduler, latency, paging, orchestration (issue #14's per-block overhead of
 * each host, test/bench/orchestration.ts) and objects (issue #17's lake export to an S3-compatible
 * server next to the local lake), e.g. `npm run bench -- --only orchestration`.
 * Data is generated with the demo's deterministic generator and kept in <tmp>/grimoire-bench.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Server } from 'socket.io';
import { startEmbeddedPostgres } from '../../lib/db/embedded-postgres';
import { type ClientMessage, type ServerMessage } from '../../lib/protocol/messages';
import { checkCron } from '../../lib/scheduler/schedule';
import { Scheduler } from '../../lib/scheduler/scheduler';
import { Gateway } from '../../lib/server/gateway';
import { Store } from '../../lib/store/store';
import { parseTriggers } from '../../lib/pipeline/triggers';
import { ensureGreenTaxiFiles } from '../../projects/demo/utils/green_taxi';
import { watchPeak } from './process-memory';
import { percentile, summarize, type Figure } from './stats';
import { fixedAccess } from '../support/socket-access';
import { openSocketClient } from '../support/socket-client';
import { orchestrationFigures } from './orchestration';
import { dispatchFigures } from './dispatch';

const REPO = path.resolve(__dirname, '..', '..');
const WORK = path.join(os.tmpdir(), 'grimoire-bench');
const MONTHS = ['2020-10', '2020-11', '2020-12'];
const argv = process.argv.slice(2);
const args = new Set(argv);
const quick = args.has('--quick');
const SECTIONS = ['pipeline', 'scheduler', 'latency', 'paging', 'orchestration', 'objects', 'dispatch'] as const;
/** `--only <section>` (or `--only=<section>`): that section alone. */
const only = argv.flatMap((a, i) => (a === '--only' ? [argv[i + 1] ?? ''] : a.startsWith('--only=') ? [a.slice('--only='.length)] : []));
for (const o of only) if (!SECTIONS.some((s) => s === o)) throw new Error(`--only ${o}: the sections are ${SECTIONS.join(', ')}`);
const wanted = (section: (typeof SECTIONS)[number]) => (only.length > 0 ? only.includes(section) : !args.has(`--skip-${section}`));
const figures: Figure[] = [];

function report(f: Figure): void {
  figures.push(f);
  process.stdout.write(JSON.stringify(f) + '\n');
}

function run(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; peakBytes: number; stdout: string; code: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, argv, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = watchPeak(child.pid ?? 0);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const peakBytes = stop();
      if (code !== 0) reject(new Error(`${command} ${argv.join(' ')} exited ${code}\n${stdout}\n${stderr}`));
      else resolve({ ms: performance.now() - started, peakBytes, stdout, code: code ?? 0 });
    });
  });
}

/** "914 ms" / "1.23 s" after a block's completed status in `grimoire run` output. */
function blockMs(stdout: string, block: string): number {
  const line = stdout.split('\n').find((l) => l.startsWith(block) && l.includes('completed'));
  const m = line ? /(\d+(?:\.\d+)?) (ms|s)\s*$/.exec(line) : null;
  if (!m) return NaN;
  return m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]);
}

async function pipelineFigures(pgUrl: string, env: NodeJS.ProcessEnv): Promise<void> {
  const demo = path.join(WORK, 'demo');
  await cp(path.join(REPO, 'projects', 'demo'), demo, { recursive: true, force: true, filter: (s) => !s.includes(`${path.sep}.grimoire`) });
  const sizes = quick ? [{ label: '267k', perMonth: undefined, runs: 3 }] : [{ label: '267k', perMonth: undefined, runs: 7 }, { label: '5M', perMonth: 1_666_667, runs: 3 }];
  for (const size of sizes) {
    const rawDir = size.perMonth === undefined ? path.join(demo, '.grimoire', 'raw') : path.join(demo, '.grimoire', 'raw', `${size.perMonth}-per-month`);
    process.stderr.write(`generating ${size.label} rows (once; kept in ${rawDir})...\n`);
    const files = await ensureGreenTaxiFiles(rawDir, MONTHS, size.perMonth);
    const vars = JSON.stringify(size.perMonth === undefined ? {} : { rows_per_month: size.perMonth });
    const pipeline: number[] = [];
    const direct: number[] = [];
    const pipelineMem: number[] = [];
    const directMem: number[] = [];
    const exportMs: number[] = [];
    const copyMs: number[] = [];
    // One untimed run of each side first: bundles built, input files in the page cache, the
    // server's catalog warm, so no figure carries a one-time cost.
    const runPipeline = () => run(process.execPath, ['bin/grimoire.js', 'run', demo, 'green_taxi_etl', '--runtime-vars', vars], { ...env, DATABASE_URL: pgUrl });
    // The homework as Mage users write it in SQL only, on the same files: direct bin and npx apart.
    const sqlProject = await writeSqlHomework(files);
    const sqlArgs = ['run', sqlProject, 'green_taxi_sql', '--no-record'];
    const runSql = () => run(process.execPath, ['bin/grimoire.js', ...sqlArgs], { ...env, DATABASE_URL: pgUrl });
    const runSqlNpx = () => run('npx', ['--no-install', 'grimoire', ...sqlArgs], { ...env, DATABASE_URL: pgUrl });
    const runDirect = () => run(process.execPath, ['--import', 'tsx', 'test/bench/direct.ts', pgUrl, path.join(WORK, 'direct-lake'), path.join(WORK, 'direct.csv'), ...files], env);
    const sql: number[] = [];
    const sqlNpx: number[] = [];
    const sqlMem: number[] = [];
    process.stderr.write(`  ${size.label} warm-up\n`);
    await runPipeline();
    await runSql();
    await runDirect();
    for (let i = 0; i < size.runs; i++) {
      process.stderr.write(`  ${size.label} run ${i + 1}/${size.runs}\n`);
      // Both sides load into the same running server, as with `grimoire start` up: the pipeline
      // figure is the run, not the start and stop of an embedded PostgreSQL.
      const p = await runPipeline();
      pipeline.push(p.ms / 1000);
      pipelineMem.push(p.peakBytes / 2 ** 20);
      exportMs.push(blockMs(p.stdout, 'export_green_taxi_postgres'));
      const q = await runSql();
      sql.push(q.ms / 1000);
      sqlMem.push(q.peakBytes / 2 ** 20);
      sqlNpx.push((await runSqlNpx()).ms / 1000);
      const d = await runDirect();
      direct.push(d.ms / 1000);
      directMem.push(d.peakBytes / 2 ** 20);
      const parsed: unknown = JSON.parse(d.stdout.trim().split('\n').pop() ?? '{}');
      if (parsed && typeof parsed === 'object' && 'psqlCopyMs' in parsed && typeof parsed.psqlCopyMs === 'number') copyMs.push(parsed.psqlCopyMs);
    }
    // Issue #18: the TypeScript demo stays within 0.9x of the direct job at both sizes.
    const ratioTarget = 0.9;
    report(summarize(`pipeline_${size.label}`, 's', pipeline));
    report(summarize(`direct_duckdb_plus_psql_copy_${size.label}`, 's', direct));
    report(summarize(`pipeline_over_direct_${size.label}`, 'ratio', pipeline.map((v, i) => v / (direct[i] ?? NaN)), { text: `<= ${ratioTarget}`, ok: (m) => m <= ratioTarget }));
    report(summarize(`pipeline_peak_rss_${size.label}`, 'MB', pipelineMem, size.label === '5M' ? { text: '<= 1024', ok: (m) => m <= 1024 } : undefined));
    report(summarize(`direct_peak_rss_${size.label}`, 'MB', directMem));
    report(summarize(`sql_pipeline_${size.label}`, 's', sql));
    report(summarize(`sql_pipeline_over_direct_${size.label}`, 'ratio', sql.map((v, i) => v / (direct[i] ?? NaN)), { text: '<= 1.0', ok: (m) => m <= 1.0 }));
    report(summarize(`sql_pipeline_npx_${size.label}`, 's', sqlNpx));
    report(summarize(`sql_pipeline_npx_over_direct_${size.label}`, 'ratio', sqlNpx.map((v, i) => v / (direct[i] ?? NaN))));
    report(summarize(`sql_pipeline_peak_rss_${size.label}`, 'MB', sqlMem, size.label === '5M' ? { text: '<= 1024', ok: (m) => m <= 1024 } : undefined));
    report(summarize(`postgres_export_block_${size.label}`, 'ms', exportMs));
    report(summarize(`psql_copy_${size.label}`, 'ms', copyMs));
    report(summarize(`postgres_export_speed_vs_psql_copy_${size.label}`, 'x', exportMs.map((v, i) => (copyMs[i] ?? NaN) / v), { text: '>= 0.9', ok: (m) => m >= 0.9 }));
  }
}

/**
 * The homework with SQL blocks only, as the issue measured it: an SQL loader with read_csv, an
 * SQL transformer, and two `SELECT * FROM {{ df_1 }}` exporters with a Postgres and a Parquet
 * configuration.destination. Written to <WORK>/sql-homework; returns the project folder.
 */
async function writeSqlHomework(files: readonly string[]): Promise<string> {
  const dir = path.join(WORK, 'sql-homework');
  const columns = Object.entries({
    VendorID: 'BIGINT', lpep_pickup_datetime: 'TIMESTAMP', lpep_dropoff_datetime: 'TIMESTAMP', store_and_fwd_flag: 'VARCHAR',
    RatecodeID: 'BIGINT', PULocationID: 'BIGINT', DOLocationID: 'BIGINT', passenger_count: 'BIGINT', trip_distance: 'DOUBLE',
    fare_amount: 'DOUBLE', extra: 'DOUBLE', mta_tax: 'DOUBLE', tip_amount: 'DOUBLE', tolls_amount: 'DOUBLE', ehail_fee: 'DOUBLE',
    improvement_surcharge: 'DOUBLE', total_amount: 'DOUBLE', payment_type: 'BIGINT', trip_type: 'BIGINT', congestion_surcharge: 'DOUBLE',
  }).map(([name, type]) => `'${name}': '${type}'`);
  const project: Record<string, string> = {
    'io_config.yaml': await readFile(path.join(REPO, 'projects', 'demo', 'io_config.yaml'), 'utf8'),
    'metadata.yaml': 'project_name: sql_homework\n',
    'pipelines/green_taxi_sql/metadata.yaml': `blocks:
  - { uuid: load_green_taxi_sql, type: data_loader, language: sql }
  - { uuid: clean_green_taxi_sql, type: transformer, language: sql, upstream_blocks: [load_green_taxi_sql] }
  - uuid: export_green_taxi_sql_postgres
    type: data_exporter
    language: sql
    upstream_blocks: [clean_green_taxi_sql]
    configuration: { destination: { type: postgres, schema: mage, table: green_taxi_sql, write_policy: replace } }
  - uuid: export_green_taxi_sql_lake
    type: data_exporter
    language: sql
    upstream_blocks: [clean_green_taxi_sql]
    configuration: { destination: { type: parquet, path: .grimoire/lake/green_taxi_sql, partition_by: [lpep_pickup_date], write_policy: replace } }
`,
    'data_loaders/load_green_taxi_sql.sql': `SELECT * FROM read_csv([${files.map((f) => `'${f}'`).join(', ')}], header = true, timestampformat = '%Y-%m-%d %H:%M:%S', columns = {${columns.join(', ')}})\n`,
    'transformers/clean_green_taxi_sql.sql': `SELECT "VendorID" AS vendor_id, lpep_pickup_datetime, lpep_dropoff_datetime, store_and_fwd_flag,
  "RatecodeID" AS ratecode_id, "PULocationID" AS pu_location_id, "DOLocationID" AS do_location_id,
  passenger_count, trip_distance, fare_amount, extra, mta_tax, tip_amount, tolls_amount, ehail_fee,
  improvement_surcharge, total_amount, payment_type, trip_type, congestion_surcharge,
  CAST(lpep_pickup_datetime AS DATE) AS lpep_pickup_date
FROM {{ df_1 }}
WHERE passenger_count > 0 AND trip_distance > 0
`,
    'data_exporters/export_green_taxi_sql_postgres.sql': 'SELECT * FROM {{ df_1 }}\n',
    'data_exporters/export_green_taxi_sql_lake.sql': 'SELECT * FROM {{ df_1 }}\n',
  };
  for (const [file, text] of Object.entries(project)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  return dir;
}

/**
 * The homework's lake export to a bucket of a local S3-compatible server (s3rver, in this process)
 * next to the same export to a local folder, alternating, each in a child process timed alone.
 */
async function objectFigures(): Promise<void> {
  const demo = path.join(WORK, 'demo');
  const { testS3 } = await import('../support/s3-server');
  const s3 = await testS3(['bench']);
  try {
    const sizes = quick ? [{ label: '267k', perMonth: undefined, runs: 3 }] : [{ label: '267k', perMonth: undefined, runs: 5 }, { label: '5M', perMonth: 1_666_667, runs: 3 }];
    for (const size of sizes) {
      const rawDir = size.perMonth === undefined ? path.join(demo, '.grimoire', 'raw') : path.join(demo, '.grimoire', 'raw', `${size.perMonth}-per-month`);
      const files = await ensureGreenTaxiFiles(rawDir, MONTHS, size.perMonth);
      const once = async (mode: 'local' | 's3') => {
        const r = await run(process.execPath, ['--import', 'tsx', 'test/bench/lake-export.ts', mode, mode === 'local' ? path.join(WORK, 'local-lake') : s3.serverEndpoint, ...files]);
        const parsed: unknown = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
        const ms = parsed && typeof parsed === 'object' && 'exportMs' in parsed && typeof parsed.exportMs === 'number' ? parsed.exportMs : NaN;
        return { ms, peakMb: r.peakBytes / 2 ** 20 };
      };
      process.stderr.write(`  objects ${size.label} warm-up\n`);
      await once('local');
      await once('s3');
      const local: number[] = [];
      const bucket: number[] = [];
      const bucketMem: number[] = [];
      for (let i = 0; i < size.runs; i++) {
        process.stderr.write(`  objects ${size.label} run ${i + 1}/${size.runs}\n`);
        local.push((await once('local')).ms);
        const b = await once('s3');
        bucket.push(b.ms);
        bucketMem.push(b.peakMb);
      }
      report(summarize(`lake_export_local_${size.label}`, 'ms', local));
      report(summarize(`lake_export_s3_${size.label}`, 'ms', bucket));
      report(summarize(`lake_export_s3_over_local_${size.label}`, 'ratio', bucket.map((v, i) => v / (local[i] ?? NaN)), { text: '<= 1.3', ok: (m) => m <= 1.3 }));
      report(summarize(`lake_export_s3_child_peak_rss_${size.label}`, 'MB', bucketMem));
    }
    // The demo pipeline with its bucket export on: the two lake exports of one run side by side
    // (they run at the same time, beside the Postgres export), and the run's peak memory.
    const pg = await startEmbeddedPostgres(path.join(WORK, '.grimoire', 'postgres'));
    try {
      const project = path.join(WORK, 'demo-s3');
      await cp(path.join(REPO, 'projects', 'demo'), project, { recursive: true, force: true, filter: (p) => !p.includes(`${path.sep}.grimoire`) });
      await cp(path.join(demo, '.grimoire', 'raw'), path.join(project, '.grimoire', 'raw'), { recursive: true, force: true });
      const config = await readFile(path.join(project, 'io_config.yaml'), 'utf8');
      await writeFile(path.join(project, 'io_config.yaml'), `${config.trimEnd()}\n  AWS_ACCESS_KEY_ID: S3RVER\n  AWS_SECRET_ACCESS_KEY: S3RVER\n  AWS_ENDPOINT: ${s3.serverEndpoint}\n`);
      for (const size of sizes) {
        const vars = JSON.stringify({ lake_bucket: 'bench', ...(size.perMonth === undefined ? {} : { rows_per_month: size.perMonth }) });
        const once = () => run(process.execPath, ['bin/grimoire.js', 'run', project, 'green_taxi_etl', '--runtime-vars', vars], { ...process.env, DATABASE_URL: pg.url });
        process.stderr.write(`  objects in the pipeline ${size.label} warm-up\n`);
        await once();
        const local: number[] = [];
        const bucket: number[] = [];
        const mem: number[] = [];
        for (let i = 0; i < size.runs; i++) {
          process.stderr.write(`  objects in the pipeline ${size.label} run ${i + 1}/${size.runs}\n`);
          const r = await once();
          local.push(blockMs(r.stdout, 'export_green_taxi_lake'));
          bucket.push(blockMs(r.stdout, 'export_green_taxi_bucket'));
          mem.push(r.peakBytes / 2 ** 20);
        }
        report(summarize(`pipeline_lake_block_local_${size.label}`, 'ms', local));
        report(summarize(`pipeline_lake_block_s3_${size.label}`, 'ms', bucket));
        report(summarize(`pipeline_lake_block_s3_over_local_${size.label}`, 'ratio', bucket.map((v, i) => v / (local[i] ?? NaN)), { text: '<= 1.3', ok: (m) => m <= 1.3 }));
        report(summarize(`pipeline_with_s3_peak_rss_${size.label}`, 'MB', mem, size.label === '5M' ? { text: '<= 1024', ok: (m) => m <= 1024 } : undefined));
      }
    } finally {
      await pg.stop();
    }
  } finally {
    await s3.stop();
  }
}

async function withGateway<T>(files: Record<string, string>, work: (send: (m: ClientMessage) => void, next: (pick: (m: ServerMessage) => boolean) => Promise<ServerMessage>) => Promise<T>): Promise<T> {
  const root = path.join(WORK, 'socket-projects');
  for (const [rel, content] of Object.entries({ 'bench/metadata.yaml': 'project_name: bench\n', ...files })) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
  const http = createServer();
  const io = new Server(http);
  const gateway = new Gateway(io, root, { access: fixedAccess() });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const socket = await openSocketClient(`http://127.0.0.1:${address && typeof address === 'object' ? address.port : 0}`);
  try {
    return await work(socket.send, socket.next);
  } finally {
    socket.close();
    await gateway.close();
    io.close();
  }
}

async function latencyFigures(): Promise<void> {
  const files = {
    'bench/pipelines/tiny/metadata.yaml': 'blocks:\n  - { uuid: tiny, type: data_loader, language: sql }\n',
    'bench/data_loaders/tiny.sql': 'SELECT 42 AS answer\n',
  };
  await withGateway(files, async (send, next) => {
    const ref = { project: 'bench', pipeline: 'tiny' };
    send({ type: 'subscribe', ...ref });
    const times: number[] = [];
    for (let i = 0; i < 201; i++) {
      const started = performance.now();
      const got = next((m) => (m.type === 'output' && m.block === 'tiny') || m.type === 'error');
      send({ type: 'run_block', ...ref, block: 'tiny' });
      const m = await got;
      if (m.type === 'error') throw new Error(m.message);
      // The first run starts the kernel: the figure is for a warm kernel.
      if (i > 0) times.push(performance.now() - started);
    }
    report({ ...summarize('run_block_latency_p50', 'ms', [percentile(times, 50)], { text: '<= 50', ok: (m) => m <= 50 }), runs: times.length });
    report({ ...summarize('run_block_latency_p95', 'ms', [percentile(times, 95)], { text: '<= 150', ok: (m) => m <= 150 }), runs: times.length });
  });
}

async function pagingFigures(): Promise<void> {
  const rows = quick ? 1_000_000 : 5_000_000;
  const files = {
    'bench/pipelines/big/metadata.yaml': 'blocks:\n  - { uuid: big, type: data_loader, language: sql }\n',
    'bench/data_loaders/big.sql': `SELECT range AS id, range * 2.5 AS x, 'row ' || range AS label, TIMESTAMP '2020-10-01' + INTERVAL (range) SECOND AS at FROM range(${rows})\n`,
  };
  await withGateway(files, async (send, next) => {
    const ref = { project: 'bench', pipeline: 'big' };
    send({ type: 'subscribe', ...ref });
    const done = next((m) => (m.type === 'output' && m.block === 'big') || m.type === 'block_error' || m.type === 'error');
    send({ type: 'run_block', ...ref, block: 'big' });
    const m = await done;
    if (m.type !== 'output') throw new Error(JSON.stringify(m));
    for (const [label, offset] of [
      ['first', 0],
      ['last', rows - 100],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const requestId = `${label}-${i}`;
        const started = performance.now();
        const answer = next((x) => x.type === 'output_answer' && x.requestId === requestId);
        send({ type: 'query_output', ...ref, block: 'big', requestId, query: { kind: 'page', offset, limit: 100, filters: [] } });
        const a = await answer;
        if (a.type !== 'output_answer' || !a.result.ok) throw new Error(JSON.stringify(a));
        times.push(performance.now() - started);
      }
      report(summarize(`preview_page_${label}_${rows >= 5_000_000 ? '5M' : '1M'}`, 'ms', times, { text: '<= 100', ok: (v) => v <= 100 }));
    }
  });
}

/**
 * 100 triggers due every second for 5 s (500 fires), with two schedulers racing for them:
 * lateness is run creation time minus execution time; duplicates must be 0.
 */
async function schedulerFigures(url: string): Promise<void> {
  const schema = `bench_sched_${Date.now()}`;
  const store = await Store.open({ url, schema });
  const rival = await Store.open({ url, schema });
  try {
    const text = `triggers:\n${Array.from({ length: 100 }, (_, i) => `  - name: t${i}\n    schedule_interval: "* * * * * *"\n    settings: { catch_up: none }\n`).join('')}`;
    const parsed = parseTriggers(text, checkCron);
    if (!parsed.ok) throw new Error('bench triggers do not parse');
    await store.triggers.sync('bench', 'sched', parsed.value, new Date());
    const schedulers = [new Scheduler(store, { maxSleepMs: 60_000 }), new Scheduler(rival, { maxSleepMs: 60_000 })];
    // Start on a second boundary so exactly five executions per trigger fall in the window.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 50));
    const from = Date.now();
    for (const s of schedulers) s.start();
    await new Promise((r) => setTimeout(r, 5000));
    for (const s of schedulers) await s.stop();
    const runs = (await store.runs.list({ project: 'bench', pipeline: 'sched', limit: 10_000 })).filter((r) => r.execution_date.getTime() >= from && r.execution_date.getTime() < from + 5000);
    const lateness = runs.map((r) => r.created_at.getTime() - r.execution_date.getTime());
    const keys = runs.map((r) => `${r.trigger_id}/${r.execution_date.toISOString()}`);
    const duplicates = keys.length - new Set(keys).size;
    report({ ...summarize('scheduler_lateness_p50', 'ms', [percentile(lateness, 50)]), runs: lateness.length });
    report({ ...summarize('scheduler_lateness_p99', 'ms', [percentile(lateness, 99)], { text: '<= 1000', ok: (m) => m <= 1000 }), runs: lateness.length });
    report({ ...summarize('scheduler_duplicate_runs', 'runs', [duplicates], { text: '0', ok: (m) => m === 0 }), runs: lateness.length });
  } finally {
    await rival.close();
    await store.close();
  }
}

async function main(): Promise<void> {
  await mkdir(WORK, { recursive: true });
  process.stderr.write(`benchmark workspace: ${WORK}\n`);
  if (wanted('pipeline')) {
    const pg = await startEmbeddedPostgres(path.join(WORK, '.grimoire', 'postgres'));
    try {
      await pipelineFigures(pg.url, process.env);
    } finally {
      await pg.stop();
    }
  }
  if (wanted('scheduler')) {
    const pg = await startEmbeddedPostgres(path.join(WORK, '.grimoire', 'postgres'));
    try {
      await schedulerFigures(pg.url);
    } finally {
      await pg.stop();
    }
  }
  if (wanted('latency')) await latencyFigures();
  if (wanted('objects')) await objectFigures();
  if (wanted('paging')) await pagingFigures();
  if (wanted('orchestration')) {
    await orchestrationFigures({ runs: quick ? 3 : 7, report, run: (command, a, env) => run(command, a, env), log: (line) => process.stderr.write(`${line}\n`) });
  }
  if (wanted('dispatch')) await dispatchFigures({ burst: quick ? 50 : 200, trickle: quick ? 20 : 40, report, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write('\nfigure                                         median      min      max  unit   target\n');
  for (const f of figures) {
    const num = (n: number) => String(n).padStart(8);
    process.stdout.write(`${f.figure.padEnd(44)} ${num(f.median)} ${num(f.min)} ${num(f.max)}  ${f.unit.padEnd(6)} ${f.target ? `${f.target} ${f.met ? 'met' : 'NOT met'}` : ''}\n`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
