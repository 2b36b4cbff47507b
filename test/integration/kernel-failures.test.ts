/**
 * Failures through the real kernel: exceptions and SQL errors with their lines, failing `test*`
 * exports, an invalid (cyclic) pipeline, endless loops and long SQL that must be interrupted, and
 * a block that calls process.exit. After each, the kernel must still run the next block.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunEvent } from '../support/run-engine';
import { PipelineInvalidError } from '../../lib/pipeline/issues';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import {
  copyProject,
  errorOf,
  exists,
  fixturePath,
  lineOf,
  num,
  openSession,
  outputOf,
  record,
  removeProject,
  statusOf,
  statusesOf,
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

const cacheFile = (pipeline: string, block: string) => path.join(dataDirOf(projectDir), 'cache', pipeline, `${block}.parquet`);

before(async () => {
  projectDir = await copyProject(fixturePath('failures'));
});

after(async () => {
  for (const s of sessions) await s.kernel.close();
  await removeProject(projectDir);
});

/** Runs `quick` and returns the pid of the kernel process that ran it. */
async function runQuick(s: Session): Promise<number> {
  const run = await record(s, { kind: 'block', block: 'quick' });
  assert.equal(statusOf(run, 'quick'), 'completed', JSON.stringify(run.result.blocks.get('quick')?.error));
  return num(outputOf(run, 'quick').rows[0]?.pid);
}

describe('a TypeScript block that throws', { timeout: 120_000 }, () => {
  let run: RecordedRun;
  before(async () => {
    run = await record(await session('ts_throw'), { kind: 'pipeline' });
  });

  test('fails with the message and the line of the throw in the .ts file', async () => {
    assert.equal(run.result.status, 'failed');
    assert.equal(statusOf(run, 'boom'), 'failed');
    const error = errorOf(run, 'boom');
    assert.equal(error.kind, 'exception');
    assert.match(error.message, /boom: refusing 2 rows/);
    assert.equal(error.file, 'transformers/boom.ts');
    assert.equal(error.line, await lineOf(projectDir, 'transformers/boom.ts', 'throw new Error'));
    assert.ok(
      run.events.some((e) => e.type === 'block_error' && e.block === 'boom' && e.error.message === error.message),
      'a block_error event was emitted',
    );
  });

  test('downstream blocks become upstream_failed and never run; the independent branch completes', async () => {
    for (const block of ['after_boom', 'after_after']) {
      assert.equal(statusOf(run, block), 'upstream_failed');
      assert.ok(!statusesOf(run, block).includes('running'), `${block} was started`);
      assert.ok(!run.events.some((e) => e.type === 'output' && e.block === block), `${block} produced output`);
      assert.ok(!(await exists(cacheFile('ts_throw', block))), `${block} has a cached output`);
    }
    assert.ok(!(await exists(path.join(dataDirOf(projectDir), 'after_boom.ran'))), 'after_boom ran its code');
    assert.ok(!(await exists(cacheFile('ts_throw', 'boom'))), 'a failed block must not publish an output');
    assert.equal(statusOf(run, 'side'), 'completed');
    assert.equal(num(outputOf(run, 'side').rows[0]?.rows), 2);
  });
});

describe('SQL errors', { timeout: 120_000 }, () => {
  let run: RecordedRun;
  before(async () => {
    run = await record(await session('sql_error'), { kind: 'pipeline' });
  });

  test('a binder error in the second statement fails with the message and its line in the file', async () => {
    assert.equal(statusOf(run, 'source'), 'completed');
    assert.equal(statusOf(run, 'bad_sql'), 'failed');
    const error = errorOf(run, 'bad_sql');
    assert.equal(error.kind, 'sql');
    assert.match(error.message, /no_such_column/);
    assert.equal(error.file, 'transformers/bad_sql.sql');
    assert.equal(error.line, await lineOf(projectDir, 'transformers/bad_sql.sql', 'no_such_column'));
  });

  test('a syntax error fails with the message and its line', async () => {
    assert.equal(statusOf(run, 'bad_syntax'), 'failed');
    const error = errorOf(run, 'bad_syntax');
    assert.equal(error.kind, 'sql');
    assert.match(error.message, /syntax error/i);
    assert.equal(error.line, await lineOf(projectDir, 'transformers/bad_syntax.sql', 'FROM FROM'));
    assert.equal(run.result.status, 'failed');
  });
});

test('a test* export that throws fails the block, which publishes nothing', { timeout: 60_000 }, async () => {
  const run = await record(await session('failing_test'), { kind: 'pipeline' });
  assert.equal(statusOf(run, 'checked'), 'failed');
  const error = errorOf(run, 'checked');
  assert.equal(error.kind, 'test');
  assert.match(error.message, /testAmountsArePositive/);
  assert.match(error.message, /1 amount\(s\) are not positive/);
  assert.equal(error.line, await lineOf(projectDir, 'data_loaders/checked.ts', 'are not positive'));
  assert.equal(statusOf(run, 'after_checked'), 'upstream_failed');
  assert.ok(!(await exists(cacheFile('failing_test', 'checked'))));
  assert.equal(run.result.status, 'failed');
});

test('a cycle in metadata.yaml makes loadPipeline throw PipelineInvalidError naming the cycle path', { timeout: 60_000 }, async () => {
  await assert.rejects(loadPipeline(projectDir, 'cycle'), (e: unknown) => {
    assert.ok(e instanceof PipelineInvalidError, `expected PipelineInvalidError, got ${String(e)}`);
    const match = /cycle in upstream_blocks: ([\w ->]+)/.exec(e.message);
    assert.ok(match?.[1], `no cycle path in: ${e.message}`);
    const path = match[1].trim().split(' -> ');
    assert.equal(path.length, 4, `a 3-block cycle closes on its start: ${match[1]}`);
    assert.equal(path[0], path[3]);
    // Data-flow edges of the fixture: cyc_a -> cyc_b -> cyc_c -> cyc_a.
    const edges = new Set(['cyc_a>cyc_b', 'cyc_b>cyc_c', 'cyc_c>cyc_a']);
    for (let i = 0; i < 3; i++) assert.ok(edges.has(`${path[i]}>${path[i + 1]}`), `${path[i]} -> ${path[i + 1]} is not an edge`);
    assert.ok(e.issues.some((issue) => issue.file === 'pipelines/cycle/metadata.yaml' && issue.message.includes('cycle')));
    return true;
  });
});

describe('interrupting', { timeout: 120_000 }, () => {
  let s: Session;
  before(async () => {
    s = await session('slow');
  });

  test('an endless TypeScript loop is stopped by kernel.interrupt() within seconds, as cancelled; the kernel then works', async () => {
    const pidBefore = await runQuick(s);
    let interruptedAt = 0;
    const run = await record(
      s,
      { kind: 'block', block: 'forever' },
      {
        onEvent: (e: RunEvent) => {
          // The block logs just before its loop: from then on only killing the process stops it.
          if (e.type === 'log' && e.block === 'forever' && interruptedAt === 0) {
            interruptedAt = Date.now();
            void s.kernel.interrupt();
          }
        },
      },
    );
    assert.ok(interruptedAt > 0, 'the block never logged');
    const took = Date.now() - interruptedAt;
    assert.ok(took < 5000, `the interrupt took ${took} ms`);
    assert.equal(statusOf(run, 'forever'), 'cancelled');
    assert.equal(run.result.status, 'cancelled');
    assert.equal(errorOf(run, 'forever').kind, 'interrupted');

    const pidAfter = await runQuick(s);
    assert.notEqual(pidAfter, pidBefore, 'JavaScript cannot be interrupted in place: the kernel was restarted');
    assert.equal(s.kernel.pid, pidAfter);
  });

  test('aborting a run through its AbortSignal cancels the running block and everything queued after it', async () => {
    const controller = new AbortController();
    const started = { at: 0 };
    const run = await record(
      s,
      { kind: 'downstream', block: 'forever' },
      {
        signal: controller.signal,
        onEvent: (e: RunEvent) => {
          if (e.type === 'log' && e.block === 'forever' && started.at === 0) {
            started.at = Date.now();
            controller.abort();
          }
        },
      },
    );
    assert.ok(started.at > 0, 'the block never logged');
    assert.ok(Date.now() - started.at < 5000, 'the abort took too long');
    assert.deepEqual([...run.result.blocks.keys()], ['forever', 'after_forever']);
    assert.equal(statusOf(run, 'forever'), 'cancelled');
    assert.equal(statusOf(run, 'after_forever'), 'cancelled');
    assert.ok(!statusesOf(run, 'after_forever').includes('running'));
    assert.equal(run.result.status, 'cancelled');
    await runQuick(s);
  });

  test('long-running SQL is interrupted inside DuckDB without restarting the kernel', async () => {
    const pidBefore = await runQuick(s);
    let interruptedAt = 0;
    const run = await record(
      s,
      { kind: 'block', block: 'slow_sql' },
      {
        onEvent: (e: RunEvent) => {
          if (e.type === 'block_status' && e.block === 'slow_sql' && e.status === 'running') {
            // Give DuckDB time to start the query; the interrupt then reaches it through its connection.
            setTimeout(() => {
              interruptedAt = Date.now();
              void s.kernel.interrupt();
            }, 1000);
          }
        },
      },
    );
    assert.ok(interruptedAt > 0, 'the query ended before it was interrupted');
    assert.ok(Date.now() - interruptedAt < 5000);
    assert.equal(statusOf(run, 'slow_sql'), 'cancelled');
    assert.equal(errorOf(run, 'slow_sql').kind, 'interrupted');
    assert.equal(await runQuick(s), pidBefore, 'the same kernel process ran the next block');
  });
});

describe('a block calling process.exit(3)', { timeout: 120_000 }, () => {
  let s: Session;
  before(async () => {
    s = await session('exit_block');
  });

  test('fails with a clear message and the same kernel runs the next block', async () => {
    const run = await record(s, { kind: 'block', block: 'exiter' });
    assert.equal(statusOf(run, 'exiter'), 'failed');
    const error = errorOf(run, 'exiter');
    assert.match(error.message, /process\.exit\(3\)/);
    assert.match(error.message, /exiter/);
    assert.equal(error.line, await lineOf(projectDir, 'data_loaders/exiter.ts', 'process.exit(3);'));
    const pid = s.kernel.pid;
    assert.ok(pid !== undefined, 'the kernel process is gone');

    const next = await record(s, { kind: 'block', block: 'survivor' });
    assert.equal(statusOf(next, 'survivor'), 'completed');
    assert.equal(num(outputOf(next, 'survivor').rows[0]?.pid), pid);
  });

  test('in a whole-pipeline run the other block still completes', async () => {
    const run = await record(s, { kind: 'pipeline' });
    assert.equal(statusOf(run, 'exiter'), 'failed');
    assert.equal(statusOf(run, 'survivor'), 'completed');
    assert.equal(run.result.status, 'failed');
  });

  test('process.exit from a timer fails the block with the message of a direct call, and the same kernel runs the next block', async () => {
    const late = await session('late_exit');
    const first = await record(late, { kind: 'block', block: 'survivor' });
    const pidBefore = num(outputOf(first, 'survivor').rows[0]?.pid);

    const run = await record(late, { kind: 'block', block: 'late_exiter' });
    assert.equal(statusOf(run, 'late_exiter'), 'failed');
    const error = errorOf(run, 'late_exiter');
    assert.equal(error.kind, 'exception');
    assert.equal(error.message, 'process.exit(5) was called by block late_exiter; blocks must return or throw instead');

    const next = await record(late, { kind: 'block', block: 'survivor' });
    assert.equal(statusOf(next, 'survivor'), 'completed');
    assert.equal(num(outputOf(next, 'survivor').rows[0]?.pid), pidBefore);
  });
});
