/**
 * Every add-block and add-on template as the menus offer it: one at least for each block type and
 * language and for each add-on kind; TypeScript ones compile with the block API under tsc --strict
 * (as a project's grimoire.d.ts types them); SQL ones render. Running them: test/integration/block-kind-templates.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { blockApiGlobals } from '../../lib/block-types/block-api-dts';
import { ADD_ON_TEMPLATES, addOnTemplatesFor } from '../../lib/pipeline/add-on-templates';
import { BLOCK_TEMPLATES, templatesFor } from '../../lib/pipeline/block-templates';
import { ADD_ON_KINDS, BLOCK_TYPES, TYPE_LANGUAGES } from '../../lib/pipeline/model';
import { renderSqlTemplate } from '../../lib/pipeline/sql-template';

const REPO = path.resolve(__dirname, '..', '..');

test('the menus offer a template for every block type and language, and for every add-on kind', () => {
  for (const type of BLOCK_TYPES) {
    for (const language of TYPE_LANGUAGES[type]) assert.ok(templatesFor(type, language).length > 0, `no template for a ${type} in ${language}`);
  }
  for (const kind of ADD_ON_KINDS) assert.ok(addOnTemplatesFor(kind).length > 1, `${kind}: a generic template and at least one more`);
  const ids = [...BLOCK_TEMPLATES.map((t) => t.id), ...ADD_ON_TEMPLATES.map((t) => t.id)];
  assert.equal(new Set(ids).size, ids.length, 'template ids are unique');
  for (const t of BLOCK_TEMPLATES) assert.ok(TYPE_LANGUAGES[t.type].includes(t.language), `${t.id}: a ${t.type} cannot be written in ${t.language}`);
  for (const id of ['sensor_pipeline_run_ts', 'sensor_postgres_rows_sql', 'sensor_file_exists_ts', 'markdown_notes', 'scratchpad_ts', 'scratchpad_sql', 'loader_dynamic_ts', 'exporter_trigger_pipeline_ts']) {
    assert.ok(BLOCK_TEMPLATES.some((t) => t.id === id), `template ${id}`);
  }
  for (const id of ['conditional_variable', 'conditional_has_rows', 'conditional_weekdays', 'callback_webhook']) assert.ok(ADD_ON_TEMPLATES.some((t) => t.id === id), `template ${id}`);
});

test('a template that needs configuration shows it in its comment, as metadata.yaml holds it', () => {
  for (const t of BLOCK_TEMPLATES.filter((x) => x.configuration)) {
    const code = t.code('block_x', []);
    for (const key of Object.keys(t.configuration ?? {})) assert.match(code, new RegExp(`configuration: \\{[^}]*\\b${key}: `), `${t.id} says how to set ${key}`);
  }
});

test('the webhook callback never puts a URL read from a secret into a log line or an error', () => {
  const code = ADD_ON_TEMPLATES.find((t) => t.id === 'callback_webhook')?.code('notify', ['a']) ?? '';
  assert.match(code, /ctx\.secrets\.get\('WEBHOOK_URL'\)/);
  // The secret's URL is only ever passed to fetch; what is logged or thrown names it in words.
  assert.doesNotMatch(code, /ctx\.log\([^)]*\burl\b/);
  assert.doesNotMatch(code, /new Error\([^)]*\$\{url\}/);
});

test('SQL templates render with the template engine', () => {
  for (const t of BLOCK_TEMPLATES.filter((x) => x.language === 'sql')) {
    const sql = renderSqlTemplate(t.code('block_x', ['up']), {
      upstream: [{ uuid: 'up', table: '"up"' }],
      variables: {},
      executionDate: '2020-10-01T00:00:00.000Z',
      extra: { data_dir: '/tmp/data', project_dir: '/tmp/project', lake: () => '(SELECT 1)' },
    });
    assert.ok(sql.trim().length > 0, t.id);
  }
});

test('every TypeScript template compiles with the block API under tsc --strict', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'grimoire-templates-'));
  try {
    await writeFile(path.join(dir, 'api.d.ts'), blockApiGlobals(await readFile(path.join(REPO, 'lib', 'kernel', 'block-api.ts'), 'utf8')));
    const files: string[] = [];
    const write = async (name: string, code: string) => {
      await writeFile(path.join(dir, name), code);
      files.push(name);
    };
    for (const t of BLOCK_TEMPLATES.filter((x) => x.language === 'typescript')) {
      // With two upstream blocks, and with none where a block of its type may stand first.
      await write(`${t.id}__up.ts`, t.code(`${t.id}_block`, ['load_a', 'load_b']));
      if (t.type !== 'transformer' && t.type !== 'data_exporter') await write(`${t.id}.ts`, t.code(`${t.id}_block`, []));
    }
    for (const t of ADD_ON_TEMPLATES) await write(`${t.id}.ts`, t.code(`${t.id}_addon`, ['load_a']));
    const tsc = path.join(REPO, 'node_modules', '.bin', 'tsc');
    // The demo project's options (projects/demo/tsconfig.json): what a project checks its blocks with.
    const opts = ['--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2023', '--module', 'esnext', '--moduleResolution', 'bundler', '--types', 'node', '--typeRoots', path.join(REPO, 'node_modules', '@types'), '--skipLibCheck'];
    const failed = await promisify(execFile)(tsc, [...opts, 'api.d.ts', ...files], { cwd: dir, maxBuffer: 16 * 1024 * 1024 }).then(
      () => '',
      (e: unknown) => (e && typeof e === 'object' && 'stdout' in e ? String(e.stdout) : String(e)),
    );
    assert.equal(failed, '', failed);
    assert.ok(files.length > 30, `${files.length} files checked`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
