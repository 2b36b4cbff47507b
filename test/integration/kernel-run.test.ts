/**
 * Successful runs through the real kernel process and DuckDB: dependency order, upstream order,
 * SQL templating, logs, a large output, and the Parquet output cache across kernels.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataDirOf } from '../../lib/project/paths';
import {
  columnTypes,
  copyProject,
  errorOf,
  exists,
  fixturePath,
  num,
  openSession,
  outputOf,
  record,
  removeProject,
  statusOf,
  statusesOf,
  transitions,
  type RecordedRun,
  type Session,
} from './helpers';

let projectDir = '';
const sessions: Session[] = [];

async function session(pipelineUuid: string): Promise<Session> {
  const s = await openSession(projectDir, pipelineUuid);
  sessions.push(s);
  return s;
}

before(async () => {
  projectDir = await copyProject(fixturePath('basics'));
});

after(async () => {
  for (const s of sessions) await s.kernel.close();
  await removeProject(projectDir);
});

describe('diamond DAG (a -> b, a -> c, c + b -> d)', { timeout: 120_000 }, () => {
  let run: RecordedRun;

  before(async () => {
    const s = await session('diamond');
    run = await record(s, { kind: 'pipeline' });
  });

  test('every block completes and the run completes', () => {
    assert.equal(run.result.status, 'completed');
    assert.deepEqual(
      [...run.result.blocks].map(([uuid, b]) => [uuid, b.status, b.rowCount]),
      [
        ['a', 'completed', 3],
        ['b', 'completed', 3],
        ['c', 'completed', 3],
        ['d', 'completed', 1],
      ],
    );
  });

  test('blocks run in dependency order', () => {
    const order = transitions(run);
    const at = (t: string) => {
      const i = order.indexOf(t);
      assert.ok(i >= 0, `${t} was never emitted (got ${order.join(', ')})`);
      return i;
    };
    assert.ok(at('a:completed') < at('b:running'), 'b started before a completed');
    assert.ok(at('a:completed') < at('c:running'), 'c started before a completed');
    assert.ok(at('b:completed') < at('d:running'), 'd started before b completed');
    assert.ok(at('c:completed') < at('d:running'), 'd started before c completed');
    for (const block of ['a', 'b', 'c', 'd']) assert.deepEqual(statusesOf(run, block), ['queued', 'running', 'completed']);
    const first = run.events[0];
    assert.ok(first?.type === 'run_status');
    assert.deepEqual(first.blocks, ['a', 'b', 'c', 'd']);
  });

  test('each block computes from its upstream outputs', () => {
    assert.deepEqual(outputOf(run, 'a').rows.map((r) => num(r.n)), [1, 2, 3]);
    assert.deepEqual(outputOf(run, 'b').rows.map((r) => [num(r.n), r.src]), [[2, 'b'], [4, 'b'], [6, 'b']]);
    assert.deepEqual(outputOf(run, 'c').rows.map((r) => [num(r.n), r.src]), [[100, 'c'], [200, 'c'], [300, 'c']]);
  });

  test('a block with two upstreams receives them in upstream_blocks order (c, then b)', () => {
    const [row] = outputOf(run, 'd').rows;
    assert.ok(row);
    assert.equal(row.first_src, 'c');
    assert.equal(num(row.first_sum), 600);
    assert.equal(row.second_src, 'b');
    assert.equal(num(row.second_sum), 12);
    // ctx.query with ctx.sql`${frame}` reached both inputs inside DuckDB.
    assert.equal(num(row.pairs), 9);
    assert.deepEqual(columnTypes(outputOf(run, 'd')), {
      first_src: 'VARCHAR',
      first_sum: 'BIGINT',
      second_src: 'VARCHAR',
      second_sum: 'BIGINT',
      pairs: 'BIGINT',
    });
  });

  test('console.log and ctx.log output arrives as log events tagged with the block', () => {
    const logs = run.events.flatMap((e) => (e.type === 'log' ? [e] : []));
    const byBlock = (block: string) => logs.filter((l) => l.block === block).map((l) => l.text).join('');
    assert.equal(byBlock('a'), 'a: loading 3 rows for a\n');
    assert.equal(byBlock('b'), 'b: doubling 3 rows\n');
    assert.equal(byBlock('d'), 'd: first has 3 rows, second has 3 rows\n');
    assert.equal(byBlock('c'), '');
    for (const l of logs) {
      assert.equal(l.runId, run.result.runId);
      assert.equal(l.stream, 'stdout');
    }
  });

  test('every output is persisted as Parquet in the data directory', async () => {
    for (const block of ['a', 'b', 'c', 'd']) {
      const file = path.join(dataDirOf(projectDir), 'cache', 'diamond', `${block}.parquet`);
      assert.ok(await exists(file), `${file} is missing`);
    }
  });

  test('running again in the same kernel replaces the outputs and picks up edited block code', async () => {
    const s = sessions.find((x) => x.pipeline.uuid === 'diamond');
    assert.ok(s);
    const pid = s.kernel.pid;
    const file = path.join(projectDir, 'data_loaders', 'a.ts');
    const code = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, code.replace('{ n: 3 }]', '{ n: 3 }, { n: 4 }]'));
    const rerun = await record(s, { kind: 'pipeline' });
    assert.equal(rerun.result.status, 'completed');
    assert.equal(s.kernel.pid, pid, 'the same kernel process ran it');
    assert.deepEqual(outputOf(rerun, 'a').rows.map((r) => num(r.n)), [1, 2, 3, 4]);
    const [row] = outputOf(rerun, 'd').rows;
    assert.ok(row);
    assert.equal(num(row.first_sum), 1000);
    assert.equal(num(row.second_sum), 20);
    assert.equal(num(row.pairs), 16);
  });
});

describe('SQL templating', { timeout: 120_000 }, () => {
  let s: Session;
  before(async () => {
    s = await session('sql_template');
  });

  test('df_n, upstream names, variables() with runtime overrides, and execution_date', async () => {
    const run = await record(
      s,
      { kind: 'pipeline' },
      { variables: { x: 'runtime_x' }, executionDate: new Date('2024-03-05T06:07:08Z') },
    );
    assert.equal(run.result.status, 'completed');
    const [row] = outputOf(run, 'combine').rows;
    assert.ok(row);
    assert.equal(num(row.df1_rows), 3, '{{ df_1 }} is nums');
    assert.equal(row.df2_words, 'one,two,three', '{{ df_2 }} is words');
    assert.equal(num(row.nums_sum), 6, '{{ nums }} names the upstream');
    assert.equal(num(row.limited_words), 2, "{{ variables('limit_n') }} is the pipeline variable, in an earlier statement");
    assert.equal(row.x, 'runtime_x', 'the runtime variable wins');
    assert.equal(row.y, 'pipeline_y', 'the pipeline variable stays when not overridden');
    assert.equal(row.execution_date, '2024-03-05T06:07:08.000Z');
    assert.equal(row.ds, '2024-03-05');

    const [ts] = outputOf(run, 'vars_ts').rows;
    assert.deepEqual(ts, { x: 'runtime_x', y: 'pipeline_y', execution_date: '2024-03-05T06:07:08.000Z' });
  });

  test('without runtime variables the pipeline variables apply (single block over cached upstreams)', async () => {
    const run = await record(s, { kind: 'block', block: 'combine' }, { executionDate: new Date('2023-01-02T00:00:00Z') });
    assert.equal(statusOf(run, 'combine'), 'completed');
    assert.deepEqual([...run.result.blocks.keys()], ['combine']);
    const [row] = outputOf(run, 'combine').rows;
    assert.ok(row);
    assert.equal(row.x, 'pipeline_x');
    assert.equal(row.ds, '2023-01-02');
    assert.equal(num(row.nums_sum), 6);
  });
});

describe('a block returning 1,000,000 plain objects', { timeout: 120_000 }, () => {
  let run: RecordedRun;
  before(async () => {
    const s = await session('big');
    run = await record(s, { kind: 'pipeline' });
  });

  test('completes with rowCount 1000000 and BIGINT/DOUBLE/VARCHAR columns', () => {
    assert.equal(statusOf(run, 'million'), 'completed', JSON.stringify(run.result.blocks.get('million')?.error));
    assert.equal(run.result.blocks.get('million')?.rowCount, 1_000_000);
    const preview = outputOf(run, 'million');
    assert.equal(preview.rowCount, 1_000_000);
    assert.deepEqual(preview.columns, [
      { name: 'id', type: 'BIGINT' },
      { name: 'value', type: 'DOUBLE' },
      { name: 'name', type: 'VARCHAR' },
    ]);
    assert.equal(preview.rows.length, 10);
    const [first] = preview.rows;
    assert.ok(first);
    assert.deepEqual([num(first.id), first.value, first.name], [0, 0.5, 'row_0']);
  });

  test('every row arrived intact in DuckDB', () => {
    assert.equal(run.result.status, 'completed');
    const [stats] = outputOf(run, 'million_stats').rows;
    assert.ok(stats);
    assert.equal(num(stats.row_count), 1_000_000);
    assert.equal(num(stats.id_sum), 499_999_500_000);
    assert.equal(num(stats.value_sum), 500_000_000_000);
    assert.equal(num(stats.distinct_names), 1_000_000);
    assert.equal(stats.last_name, 'row_999999');
  });
});

describe('single-block runs and the output cache', { timeout: 120_000 }, () => {
  const runLog = () => path.join(dataDirOf(projectDir), 'up-runs.log');
  const downRow = (run: RecordedRun) => {
    const rows = outputOf(run, 'down').rows;
    assert.equal(rows.length, 1);
    return { token: rows[0]?.token, upstreamRows: num(rows[0]?.upstream_rows) };
  };
  const runsOfUp = async () => ((await exists(runLog())) ? (await fs.readFile(runLog(), 'utf8')).split('\n').filter(Boolean).length : 0);

  test('a block whose upstream never ran fails with missing_upstream; the cached upstream is reused later, also after a restart and in a new kernel', async () => {
    const first = await session('cache');

    const missing = await record(first, { kind: 'block', block: 'down' });
    assert.equal(statusOf(missing, 'down'), 'failed');
    assert.equal(missing.result.status, 'failed');
    const error = errorOf(missing, 'down');
    assert.equal(error.kind, 'missing_upstream');
    assert.match(error.message, /"up"/);
    assert.deepEqual([...missing.result.blocks.keys()], ['down'], 'a single-block run plans only that block');
    assert.equal(await runsOfUp(), 0);

    const up = await record(first, { kind: 'block', block: 'up' });
    assert.equal(statusOf(up, 'up'), 'completed');
    const token = outputOf(up, 'up').rows[0]?.token;
    assert.equal(typeof token, 'string');
    assert.equal(await runsOfUp(), 1);

    const again = await record(first, { kind: 'block', block: 'down' });
    assert.equal(statusOf(again, 'down'), 'completed');
    assert.deepEqual(downRow(again), { token, upstreamRows: 2 });

    const pidBefore = first.kernel.pid;
    await first.kernel.restart();
    assert.notEqual(first.kernel.pid, pidBefore, 'restart starts a new kernel process');
    const afterRestart = await record(first, { kind: 'block', block: 'down' });
    assert.equal(statusOf(afterRestart, 'down'), 'completed', JSON.stringify(afterRestart.result.blocks.get('down')?.error));
    assert.deepEqual(downRow(afterRestart), { token, upstreamRows: 2 });
    await first.kernel.close();

    const second = await session('cache');
    const fresh = await record(second, { kind: 'block', block: 'down' });
    assert.equal(statusOf(fresh, 'down'), 'completed', JSON.stringify(fresh.result.blocks.get('down')?.error));
    assert.deepEqual(downRow(fresh), { token, upstreamRows: 2 });
    assert.equal(await runsOfUp(), 1, 'the upstream was read from Parquet, not run again');
  });
});
