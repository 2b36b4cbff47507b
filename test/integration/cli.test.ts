/**
 * `grimoire run <project_path> <pipeline_uuid> [--runtime-vars json]` as users run it: the real
 * bin/grimoire.js in a child process, on copies of the fixture projects and of the demo.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../lib/db/embedded-postgres';
import { dataDirOf, workspaceDataDir } from '../../lib/project/paths';
import { processAlive } from '../../lib/kernel/spill';
import { copyProject, exists, fixturePath, removeProject, REPO_ROOT } from './helpers';

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const BIN = path.join(REPO_ROOT, 'bin', 'grimoire.js');

interface CliProcess {
  pid: number | undefined;
  stdout: () => string;
  kill: (signal: NodeJS.Signals) => void;
  /** Signals the CLI's whole process group, as Ctrl-C in a terminal does (needs `ownGroup`). */
  killGroup: (signal: NodeJS.Signals) => void;
  done: Promise<CliResult>;
}

function startGrimoire(args: string[], timeoutMs = 120_000, ownGroup = false): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    // 'close' waits for every holder of the output pipes: a leaked kernel (which inherits stdout)
    // would keep it from ever coming. So after 'exit', wait for the rest of the output only briefly.
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const finish = () => resolve({ code, signal, stdout, stderr });
      const grace = setTimeout(finish, 2000);
      child.on('close', () => {
        clearTimeout(grace);
        finish();
      });
    });
  });
  const killGroup = (signal: NodeJS.Signals) => {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  };
  return { pid: child.pid, stdout: () => stdout, kill: (signal) => child.kill(signal), killGroup, done };
}

function grimoire(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return startGrimoire(args, timeoutMs).done;
}


async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const show = (r: CliResult) => `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** The status line the CLI prints when a block finishes: "<block>  <status>  <n> rows  <duration>". */
function finalLine(stdout: string, block: string, status: string): RegExpExecArray | null {
  return new RegExp(`^${block}\\s+${status}\\s+([\\d,]+) rows?\\s`, 'm').exec(stdout);
}

function rowsPrinted(stdout: string, block: string): number {
  const m = finalLine(stdout, block, 'completed');
  assert.ok(m?.[1], `no "completed ... rows" line for ${block}`);
  return Number(m[1].replaceAll(',', ''));
}

describe('grimoire run on fixture projects', { timeout: 180_000 }, () => {
  let basics = '';
  let failures = '';
  before(async () => {
    basics = await copyProject(fixturePath('basics'));
    failures = await copyProject(fixturePath('failures'));
  });
  after(async () => {
    await removeProject(basics);
    await removeProject(failures);
  });

  test('a succeeding pipeline exits 0 and prints every block with its status and row count', async () => {
    const r = await grimoire(['run', basics, 'diamond']);
    assert.equal(r.code, 0, show(r));
    assert.equal(rowsPrinted(r.stdout, 'a'), 3);
    assert.equal(rowsPrinted(r.stdout, 'b'), 3);
    assert.equal(rowsPrinted(r.stdout, 'c'), 3);
    assert.equal(rowsPrinted(r.stdout, 'd'), 1);
    assert.match(r.stdout, /^Completed: 4 of 4 blocks succeeded/m);
    // Block logs are printed with the block's name.
    assert.match(r.stdout, /^ {2}\[b\] b: doubling 3 rows$/m);
    // A batch run keeps no Parquet copies of its outputs (the editor's runs do).
    assert.ok(!(await exists(path.join(dataDirOf(basics), 'cache', 'diamond', 'd.parquet'))));
  });

  test('SQL blocks read by one SQL block or by two are made and counted in full when they run', async () => {
    const sqlBlock = (uuid: string, type: string, upstream: string[]) => `  - uuid: ${uuid}\n    type: ${type}\n    language: sql\n    upstream_blocks: [${upstream.join(', ')}]\n`;
    await fs.mkdir(path.join(basics, 'pipelines', 'sql_views'), { recursive: true });
    await fs.writeFile(
      path.join(basics, 'pipelines', 'sql_views', 'metadata.yaml'),
      `name: sql_views\nuuid: sql_views\ntype: batch\nblocks:\n${sqlBlock('numbers_sql', 'data_loader', [])}${sqlBlock('doubled_sql', 'transformer', ['numbers_sql'])}${sqlBlock('both_sql', 'transformer', ['numbers_sql', 'doubled_sql'])}`,
    );
    await fs.writeFile(path.join(basics, 'data_loaders', 'numbers_sql.sql'), 'SELECT range AS x FROM range(5)\n');
    await fs.writeFile(path.join(basics, 'transformers', 'doubled_sql.sql'), 'SELECT x * 2 AS y FROM {{ df_1 }}\n');
    await fs.writeFile(path.join(basics, 'transformers', 'both_sql.sql'), 'SELECT count(*) AS n FROM {{ df_1 }} JOIN {{ df_2 }} ON x * 2 = y\n');
    const r = await grimoire(['run', basics, 'sql_views', '--no-record']);
    assert.equal(r.code, 0, show(r));
    // numbers_sql has two readers, doubled_sql one: each is a table of its rows, counted.
    assert.equal(rowsPrinted(r.stdout, 'numbers_sql'), 5);
    assert.equal(rowsPrinted(r.stdout, 'doubled_sql'), 5);
    assert.equal(rowsPrinted(r.stdout, 'both_sql'), 1);
  });

  test('--runtime-vars override pipeline variables', async () => {
    const r = await grimoire(['run', basics, 'sql_template', '--runtime-vars', '{"x": "cli_x"}']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^ {2}\[vars_ts\] x=cli_x y=pipeline_y$/m);
    assert.equal(rowsPrinted(r.stdout, 'combine'), 1);
  });

  test('runtime variables ds and execution_date set the run\'s execution date: every way of reading it agrees', async () => {
    const r = await grimoire(['run', basics, 'run_date', '--no-record', '--runtime-vars', '{"ds": "2022-08-18", "execution_date": "2022-08-18T00:00:00Z"}']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^ {2}\[dates_ts\] sql a=2022-08-18 b=2022-08-18 c=2022-08-18T00:00:00.000Z ts=2022-08-18T00:00:00.000Z ds=2022-08-18$/m);
    const bad = await grimoire(['run', basics, 'run_date', '--no-record', '--runtime-vars', '{"ds": "18/08/2022"}']);
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /runtime variable ds must be a date like 2022-08-18, got "18\/08\/2022"/);
  });

  test('a failing pipeline exits non-zero and shows the error with its file and line', async () => {
    const r = await grimoire(['run', failures, 'ts_throw']);
    assert.notEqual(r.code, 0, show(r));
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^boom\s+failed\b/m);
    assert.match(r.stdout, /error \(transformers\/boom\.ts:\d+\): Error: boom: refusing 2 rows/);
    assert.match(r.stdout, /^after_boom\s+upstream_failed\b/m);
    assert.match(r.stdout, /^after_after\s+upstream_failed\b/m);
    assert.equal(rowsPrinted(r.stdout, 'side'), 1);
    assert.match(r.stdout, /^Failed: 2 of 5 blocks succeeded/m);
  });

  test('invalid --runtime-vars JSON exits 2 with a clear message and runs nothing', async () => {
    const r = await grimoire(['run', basics, 'diamond', '--runtime-vars', '{x: 1']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /--runtime-vars is not valid JSON/);
    assert.equal(r.stdout, '');
  });

  test('--runtime-vars that are not a JSON object exit 2', async () => {
    const r = await grimoire(['run', basics, 'diamond', '--runtime-vars', '[1, 2]']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /--runtime-vars must be a JSON object/);
  });

  test('an unknown pipeline exits 2 and lists the pipelines that exist', async () => {
    const r = await grimoire(['run', basics, 'no_such_pipeline']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /pipeline "no_such_pipeline" not found/);
    assert.match(r.stderr, /diamond/);
  });

  test('an unknown project path exits 2 and says the project is not there', async () => {
    const missing = path.join(basics, 'no', 'such', 'project');
    const r = await grimoire(['run', missing, 'diamond']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /no project at/);
    assert.ok(r.stderr.includes(missing), show(r));
    assert.match(r.stderr, /metadata\.yaml/);
    assert.ok(!(await exists(missing)), 'the CLI must not create the missing project folder');
  });

  test('an invalid (cyclic) pipeline exits 2 and names the cycle', async () => {
    const r = await grimoire(['run', failures, 'cycle']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /invalid pipeline/);
    assert.match(r.stderr, /cycle in upstream_blocks: cyc_\w+ -> cyc_\w+ -> cyc_\w+ -> cyc_\w+/);
  });

  /**
   * Runs the fixture whose block loops forever, signals the CLI once the loop has started, and
   * checks that the run is cancelled and the kernel is gone; never leaves a spinning process.
   */
  async function cancelEndlessLoop(signal: (cli: CliProcess) => void, ownGroup: boolean): Promise<CliResult> {
    const cli = startGrimoire(['run', failures, 'slow'], 120_000, ownGroup);
    let kernelPid: number | undefined;
    try {
      kernelPid = await waitFor('the endless loop to start', () => {
        const m = /\[forever\] forever: starting an endless loop in pid (\d+)/.exec(cli.stdout());
        return m?.[1] === undefined ? undefined : Number(m[1]);
      });
      const signalledAt = Date.now();
      signal(cli);
      const r = await cli.done;
      assert.ok(Date.now() - signalledAt < 10_000, 'the CLI took too long to stop');
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stdout, /^forever\s+cancelled\b/m);
      assert.match(r.stdout, /^Cancelled: /m);
      const pid = kernelPid;
      await waitFor('the kernel process to exit', () => (processAlive(pid) ? undefined : true), 5000);
      return r;
    } finally {
      // Never leave a spinning process behind, even when the assertions above failed.
      if (kernelPid !== undefined && processAlive(kernelPid)) process.kill(kernelPid, 'SIGKILL');
      cli.kill('SIGKILL');
      await cli.done;
    }
  }

  test('SIGTERM cancels the run and stops the kernel, even one stuck in an endless loop', async () => {
    const r = await cancelEndlessLoop((cli) => cli.kill('SIGTERM'), false);
    assert.match(r.stdout, /SIGTERM: cancelling the run/);
  });

  test('Ctrl-C (SIGINT to the whole process group) cancels the run; the kernel does not die of it', async () => {
    const r = await cancelEndlessLoop((cli) => cli.killGroup('SIGINT'), true);
    assert.match(r.stdout, /SIGINT: cancelling the run/);
    // Killed by the terminal's signal, the kernel would have made every block a crash.
    assert.doesNotMatch(r.stdout, /kernel process exited \(SIGINT\)/, show(r));
  });

  test('missing arguments exit 2 with the usage', async () => {
    const r = await grimoire(['run', basics]);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /usage:/);
  });
});

describe('grimoire run prints the block kinds', { timeout: 120_000 }, () => {
  let kinds = '';
  before(async () => {
    kinds = await copyProject(fixturePath('block_kinds'));
  });
  after(async () => {
    await removeProject(kinds);
  });

  test('a fan-out names its children (cut short past ten), each child ends like a block; pokes, a skip and a failed callback get their lines', async () => {
    const r = await grimoire(['run', kinds, 'cli_kinds', '--no-record']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^twelve_items\s+fanned out\s+12 children: double_item:0, double_item:1, .*double_item:9 and 2 more$/m);
    for (let i = 0; i < 12; i++) assert.equal(rowsPrinted(r.stdout, `double_item:${i}`), 1);
    assert.match(r.stdout, /^double_item\s+completed\s+12 of 12 children completed$/m);
    assert.equal(rowsPrinted(r.stdout, 'total_items'), 1);
    // A sensor's pokes are lines of its own, not log lines.
    assert.match(r.stdout, /^ready_on_second_poke\s+waiting\s+poke 1: not yet; next in 1 s$/m);
    assert.match(r.stdout, /^ready_on_second_poke\s+satisfied\s+poke 2$/m);
    assert.doesNotMatch(r.stdout, /\[ready_on_second_poke\] poke/);
    // condition_failed is a skip, not a failure: the run succeeds and says so.
    assert.match(r.stdout, /^skipped\s+skipped\s+conditional never returned false\s+\d+ ms\s+\(condition_failed\)$/m);
    assert.doesNotMatch(r.stdout, /^skipped\s+failed/m);
    // The throwing callback is said once, on its block's line; the block keeps its status.
    assert.match(r.stdout, /^start\s+callback failed\s+broken\.onSuccess: Error: the webhook is down$/m);
    assert.equal(r.stdout.match(/the webhook is down/g)?.length, 1, show(r));
    assert.equal(rowsPrinted(r.stdout, 'start'), 2);
    assert.match(r.stdout, /^Completed: 17 of 18 blocks succeeded, 1 skipped by a conditional in /m);
  });

  test('a retried child and a nested fan-out: each child by its name, the retry on its own', async () => {
    const r = await grimoire(['run', kinds, 'fan_out', '--no-record']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^list_months\s+fanned out\s+3 children: load_month:jan, load_month:feb, load_month:mar \(\+ 3 of clean_month\)$/m);
    assert.match(r.stdout, /^clean_month:feb\s+queued\s+retry 1 of 1 in 1 s$/m);
    assert.match(r.stdout, /^clean_month:feb\s+running\s+attempt 2$/m);
    assert.doesNotMatch(r.stdout, /^clean_month:jan\s+running\s+attempt 2/m);
    assert.equal(rowsPrinted(r.stdout, 'clean_month:feb'), 1);
    const nested = await grimoire(['run', kinds, 'nested', '--no-record']);
    assert.equal(nested.code, 0, show(nested));
    assert.match(nested.stdout, /^months:0\s+fanned out\s+2 children: load:0:0, load:0:1 \(\+ 1 of year_total\)$/m);
    assert.equal(rowsPrinted(nested.stdout, 'year_total:1'), 1);
  });
});

describe('grimoire run on the demo project', { timeout: 300_000 }, () => {
  let demo = '';
  before(async () => {
    demo = await copyProject(path.join(REPO_ROOT, 'projects', 'demo'));
  });
  after(async () => {
    await removeProject(demo);
  });

  test('green_taxi_etl exits 0, writes the partitioned Parquet lake and replaces mage.green_taxi in the embedded Postgres', async () => {
    assert.ok(!(await exists(dataDirOf(demo))), 'the copy must start without runtime data');
    const r = await grimoire(['run', demo, 'green_taxi_etl'], 300_000);
    assert.equal(r.code, 0, show(r));
    const loaded = rowsPrinted(r.stdout, 'load_green_taxi');
    const cleaned = rowsPrinted(r.stdout, 'clean_green_taxi');
    assert.ok(loaded > 0 && cleaned > 0 && cleaned < loaded, `loaded ${loaded}, cleaned ${cleaned}`);
    assert.ok(finalLine(r.stdout, 'export_green_taxi_lake', 'completed'), show(r));
    assert.match(r.stdout, /^Completed: 5 of 5 blocks succeeded/m);
    assert.match(r.stdout, /skipped: set the variable lake_bucket/);
    assert.ok(finalLine(r.stdout, 'export_green_taxi_postgres', 'completed'), show(r));

    const lake = path.join(dataDirOf(demo), 'lake', 'green_taxi');
    const partitions = (await fs.readdir(lake)).sort();
    for (const day of ['2020-10-01', '2020-11-15', '2020-12-31']) assert.ok(partitions.includes(`lpep_pickup_date=${day}`), `${day} is missing`);
    for (const p of partitions) assert.match(p, /^lpep_pickup_date=2020-1[0-2]-\d\d$/);
    assert.equal(partitions.length, 92, 'one partition per day of Q4 2020');
    for (const p of partitions) assert.ok((await fs.readdir(path.join(lake, p))).some((f) => f.endsWith('.parquet')), `${p} has no Parquet file`);

    // The lake holds exactly the cleaned rows.
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(
        `SELECT count(*)::BIGINT AS n, count(DISTINCT lpep_pickup_date) AS days FROM read_parquet('${lake.replaceAll("'", "''")}/*/*.parquet', hive_partitioning = true)`,
      );
      const [row] = reader.getRowObjectsJS();
      assert.equal(Number(row?.n), cleaned);
      assert.equal(Number(row?.days), 92);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }

    // The CLI stopped the workspace's embedded PostgreSQL on exit; its data holds the export.
    const server = await startEmbeddedPostgres(path.join(workspaceDataDir(demo), 'postgres'));
    const client = new pg.Client(server.coordinates);
    try {
      await client.connect();
      const res = await client.query("SELECT count(*)::int AS n, pg_typeof(lpep_pickup_datetime)::text AS ts FROM mage.green_taxi GROUP BY 2");
      assert.deepEqual(res.rows, [{ n: cleaned, ts: 'timestamp without time zone' }]);
    } finally {
      await client.end();
      await server.stop();
    }
  });

  test('green_taxi_by_month fans out one child per month, sums them into one table, and its conditional skips the export until asked', async () => {
    const r = await grimoire(['run', demo, 'green_taxi_by_month'], 300_000);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^list_green_taxi_months\s+fanned out\s+3 children: load_green_taxi_month:2020-10, load_green_taxi_month:2020-11, load_green_taxi_month:2020-12 \(\+ 3 of summarize_green_taxi_month\)$/m);
    // The real Q4-2020 row counts, one month per child.
    assert.equal(rowsPrinted(r.stdout, 'load_green_taxi_month:2020-10'), 95_120);
    assert.equal(rowsPrinted(r.stdout, 'load_green_taxi_month:2020-11'), 88_605);
    assert.equal(rowsPrinted(r.stdout, 'load_green_taxi_month:2020-12'), 83_130);
    for (const m of ['2020-10', '2020-11', '2020-12']) assert.equal(rowsPrinted(r.stdout, `summarize_green_taxi_month:${m}`), 1);
    assert.equal(rowsPrinted(r.stdout, 'green_taxi_quarter'), 3);
    assert.match(r.stdout, /^export_green_taxi_monthly\s+skipped\s+conditional export_to_postgres returned false\b.*\(condition_failed\)$/m);
    assert.match(r.stdout, /^Completed: 10 of 11 blocks succeeded, 1 skipped by a conditional in /m);
    const exported = await grimoire(['run', demo, 'green_taxi_by_month', '--runtime-vars', '{"export_to_postgres": true}'], 300_000);
    assert.equal(exported.code, 0, show(exported));
    assert.match(exported.stdout, /exported 3 rows to Postgres mage\.green_taxi_monthly/);
    assert.match(exported.stdout, /^Completed: 11 of 11 blocks succeeded in /m);
  });
});
