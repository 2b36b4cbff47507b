#!/usr/bin/env node
// `npm test`: unit, integration, then end-to-end tests (node:test through tsx), one suite after the
// other (2 cores). Fails when a suite fails or when no test ran at all.
// Usage: node test/run.mjs [unit|integration|e2e ...]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.dirname(new URL(import.meta.url).pathname);
const suites = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
let ran = 0;
let failed = 0;
let passed = 0;

function files(suite) {
  const dir = path.join(root, suite);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(dir, f));
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
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...list],
    { cwd: path.join(root, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 },
  );
  process.stdout.write(res.stdout ?? '');
  const count = (label) => Number(new RegExp(`^ℹ ${label} (\\d+)`, 'm').exec(res.stdout ?? '')?.[1] ?? 0);
  ran += count('tests');
  passed += count('pass');
  failed += count('fail');
  if (res.status !== 0 && count('fail') === 0) failed += 1;
}

process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
if (ran === 0) {
  process.stderr.write('no test ran\n');
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
