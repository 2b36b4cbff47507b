#!/usr/bin/env node
// House rules the type checker cannot see: no `any`, no CDN addresses, no focused or skipped tests.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.tsx', '*.js', '*.mjs'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !f.startsWith('node_modules/'));
const rules = [
  { pattern: /(:\s*any\b|\bas any\b|<any>)/, message: "uses 'any': type it or validate it with zod" },
  { pattern: /cdn\.jsdelivr|unpkg\.com|cdnjs\./, message: 'loads from a CDN: everything is served from our own bundle' },
  { pattern: /\b(test|it|describe)\.(only|skip)\(|\{\s*(only|skip):\s*true/, message: 'focuses or skips a test' },
];
let problems = 0;
for (const file of files) {
  if (file === 'test/lint.mjs') continue;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      for (const rule of rules) {
        if (rule.pattern.test(line)) {
          problems++;
          process.stderr.write(`${file}:${i + 1}: ${rule.message}\n`);
        }
      }
    });
}
if (problems > 0) process.exit(1);
process.stdout.write(`lint: ${files.length} files clean\n`);
