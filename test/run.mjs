#!/usr/bin/env node
// `npm test`: unit, integration, then end-to-end tests (node:test through tsx), one suite after the
// other (2 cores). Fails when a suite fails or when no test ran at all.
// Usage: node test/run.mjs [unit|integration|e2e ...]
//
// Output streams as it comes, so a CI log cut short still shows the last test that started. Two
// guards keep one stuck file from eating CI's whole budget: --test-force-exit ends a file's process
// once its tests (and after() hooks) are done, even if a handle it forgot (a socket, a child's pipe)
// would keep it alive, and --test-timeout fails a file (and any test) that runs past its budget, so
// the suites after it still run and the log names it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.dirname(new URL(import.meta.url).pathname);
const suites = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
/** The longest one test file may run (ms); the slowest take about 2 minutes on a busy 2-core machine. */
const FILE_BUDGET_MS = Number(process.env.GRIMOIRE_TEST_FILE_BUDGET_MS ?? 12 * 60_000);
/** How long a suite may print nothing before the processes running are listed on stderr. */
const SILENT_MS = 4 * 60_000;
let ran = 0;
let failed = 0;
let passed = 0;

function files(suite) {
  const dir = path.join(root, suite);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(dir, f));
}

/** Runs node's test runner on `list`, streaming its report; resolves with the report and exit code. */
function runSuite(list) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', `--test-timeout=${FILE_BUDGET_MS}`, '--test-reporter=spec', ...list],
      { cwd: path.join(root, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let report = '';
    let lastOutput = Date.now();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      report += chunk;
      lastOutput = Date.now();
      process.stdout.write(chunk);
    });
    // Silence for minutes means a test waits on something: say what runs, so a log cut short shows it.
    const watchdog = setInterval(() => {
      if (Date.now() - lastOutput < SILENT_MS) return;
      lastOutput = Date.now();
      const ps = spawnSync('ps', ['-eo', 'pid,ppid,etimes,pcpu,rss,args', '--sort=start_time'], { encoding: 'utf8' });
      process.stderr.write(`\n[test/run.mjs] no test output for ${SILENT_MS / 60_000} min; processes:\n${(ps.stdout ?? '').split('\n').filter((l) => !l.includes('[')).map((l) => l.slice(0, 240)).join('\n')}\n`);
    }, 10_000);
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      resolve({ report, code: code ?? (signal ? 1 : 0) });
    });
  });
}

for (const suite of suites) {
  const list = files(suite);
  if (list.length === 0) continue;
  if (suite === 'e2e') {
    // The browser tests drive the production build, as users run it.
    const build = spawnSync(process.execPath, [path.join(root, '..', 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], {
      cwd: path.join(root, '..'),
      stdio: 'inherit',
    });
    if (build.status !== 0) {
      process.stderr.write('next build failed\n');
      process.exit(1);
    }
  }
  process.stdout.write(`\n=== ${suite} (${list.length} files) ===\n`);
  const started = Date.now();
  const { report, code } = await runSuite(list);
  const count = (label) => Number(new RegExp(`^ℹ ${label} (\\d+)`, 'm').exec(report)?.[1] ?? 0);
  ran += count('tests');
  passed += count('pass');
  failed += count('fail') + count('cancelled');
  if (code !== 0 && count('fail') + count('cancelled') === 0) failed += 1;
  process.stdout.write(`=== ${suite}: ${Math.round((Date.now() - started) / 1000)} s ===\n`);
}

process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
if (ran === 0) {
  process.stderr.write('no test ran\n');
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
