/**
 * Secrets inside a real kernel (DuckDB, child process): mage_secret_var in SQL and io_config.yaml,
 * ctx.secrets in TypeScript, masking on both sides of the kernel, and a kernel environment free of
 * Grimoire's own credentials.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import path from 'node:path';
import { KernelHost, type KernelOptions } from '../../lib/kernel/host';
import { type RunEvent } from '../support/run-engine';
import { dataDirOf } from '../../lib/project/paths';
import { exists } from '../../lib/project/files';
import { loadPipeline } from '../../lib/project/load';
import { writeProject } from '../support/write-project';
import { errorOf, num, outputOf, record, statusOf, type RecordedRun, type Session } from './helpers';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const loader = (uuid: string, language: 'typescript' | 'sql' = 'typescript', configuration = '{}') =>
  `  - { uuid: ${uuid}, type: data_loader, language: ${language}, upstream_blocks: [], configuration: ${configuration} }`;

async function open(files: Record<string, string>, options: Partial<KernelOptions> = {}): Promise<Session> {
  const project = await writeProject('secrets', files);
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', cacheDir: null, ...options });
  cleanups.push(async () => {
    await kernel.close();
    await project.cleanup();
  });
  const { pipeline } = await loadPipeline(project.dir, 'p');
  return { projectDir: project.dir, pipeline, kernel };
}

const runBlock = (session: Session, block: string) => record(session, { kind: 'block', block });

function logsOf(run: RecordedRun, block: string): string {
  return run.events.flatMap((e: RunEvent) => (e.type === 'log' && e.block === block ? [e.text] : [])).join('');
}

const API_KEY = 'sk-live-0123456789';

describe('workspace secrets in blocks', () => {
  const values: Record<string, string> = { API_KEY, DB_FILE: 'data/from_secret.duckdb' };
  let reads = 0;
  let session: Session;
  const ready = open(
    {
      'io_config.yaml': "version: 0.1.1\ndefault:\n  DUCKDB_DATABASE: \"{{ mage_secret_var('DB_FILE') }}\"\n",
      'pipelines/p/metadata.yaml': [
        'blocks:',
        loader('ts_secret'),
        loader('ts_missing'),
        loader('sql_secret', 'sql'),
        loader('sql_missing', 'sql'),
        loader('sql_echo', 'sql'),
        loader('in_profile', 'sql', '{ data_provider: duckdb, data_provider_profile: default }'),
        '',
      ].join('\n'),
      'data_loaders/ts_secret.ts': [
        'export default async function ts_secret(ctx: BlockContext) {',
        "  const key = ctx.secrets.get('API_KEY');",
        "  console.log('the key is', key);",
        '  ctx.log(JSON.stringify({ key }));',
        '  return [{ key, length: key.length }];',
        '}',
        '',
      ].join('\n'),
      'data_loaders/ts_missing.ts': "export default async function ts_missing(ctx: BlockContext) {\n  return [{ v: ctx.secrets.get('NOT_SET_ANYWHERE') }];\n}\n",
      'data_loaders/sql_secret.sql': "SELECT '{{ mage_secret_var('API_KEY') }}' AS key, length('{{ mage_secret_var('API_KEY') }}') AS length\n",
      'data_loaders/sql_missing.sql': "SELECT '{{ mage_secret_var('NOPE') }}' AS key\n",
      // DuckDB repeats the file name it could not find: the error must not show the value.
      'data_loaders/sql_echo.sql': "SELECT * FROM read_csv('{{ mage_secret_var('API_KEY') }}.csv')\n",
      'data_loaders/in_profile.sql': 'SELECT 42 AS answer\n',
    },
    {
      secrets: async () => {
        reads++;
        return { ...values };
      },
    },
  ).then((s) => (session = s));

  test("ctx.secrets.get reads the value; logs and the preview show it masked", async () => {
    await ready;
    const run = await runBlock(session, 'ts_secret');
    assert.equal(statusOf(run, 'ts_secret'), 'completed', JSON.stringify(run.result.blocks.get('ts_secret')?.error));
    const preview = outputOf(run, 'ts_secret');
    // The block had the real value (its length), but what leaves the kernel shows ***.
    assert.deepEqual(preview.rows, [{ key: '***', length: API_KEY.length }]);
    const logs = logsOf(run, 'ts_secret');
    assert.match(logs, /the key is \*\*\*/);
    assert.match(logs, /\{"key":"\*\*\*"\}/);
    assert.ok(!JSON.stringify(run.events).includes(API_KEY), 'the value appears in no event');
    // A page of the output, asked of the kernel later, is masked too.
    const page = await session.kernel.queryOutput('ts_secret', { kind: 'page', offset: 0, limit: 10, filters: [] });
    assert.ok(page.ok && page.answer.kind === 'page');
    assert.deepEqual(page.answer.rows, [{ key: '***', length: API_KEY.length }]);
  });

  test("{{ mage_secret_var('NAME') }} renders in SQL, masked in the preview; secrets are read before every block", async () => {
    await ready;
    const before = reads;
    let run = await runBlock(session, 'sql_secret');
    assert.equal(statusOf(run, 'sql_secret'), 'completed', JSON.stringify(run.result.blocks.get('sql_secret')?.error));
    assert.deepEqual(outputOf(run, 'sql_secret').rows.map((r) => [r.key, num(r.length)]), [['***', API_KEY.length]]);
    assert.equal(reads, before + 1);
    // A secret changed meanwhile applies to the next block, without restarting the kernel.
    values.API_KEY = 'rotated-value';
    run = await runBlock(session, 'sql_secret');
    assert.deepEqual(outputOf(run, 'sql_secret').rows.map((r) => [r.key, num(r.length)]), [['***', 'rotated-value'.length]]);
    values.API_KEY = API_KEY;
  });

  test('an unknown secret is a block error naming it, in TypeScript and in SQL', async () => {
    await ready;
    const ts = await runBlock(session, 'ts_missing');
    const error = errorOf(ts, 'ts_missing');
    assert.equal(error.kind, 'exception');
    assert.match(error.message, /SecretNotSetError: secret "NOT_SET_ANYWHERE" is not set/);
    assert.equal(error.file, 'data_loaders/ts_missing.ts');
    assert.equal(error.line, 2);
    const sql = await runBlock(session, 'sql_missing');
    assert.equal(errorOf(sql, 'sql_missing').kind, 'template');
    assert.match(errorOf(sql, 'sql_missing').message, /secret "NOPE" is not set/);
  });

  test('an error that repeats a secret (DuckDB echoing the SQL) shows it masked', async () => {
    await ready;
    const run = await runBlock(session, 'sql_echo');
    const error = errorOf(run, 'sql_echo');
    assert.match(error.message, /\*\*\*\.csv/);
    assert.ok(!error.message.includes(API_KEY), error.message);
  });

  test("io_config.yaml reads a secret with mage_secret_var (the DuckDB file it names is made)", async () => {
    await ready;
    const run = await runBlock(session, 'in_profile');
    assert.equal(statusOf(run, 'in_profile'), 'completed', JSON.stringify(run.result.blocks.get('in_profile')?.error));
    assert.equal(await exists(path.join(session.projectDir, 'data', 'from_secret.duckdb')), true);
  });
});

describe('the kernel side without secrets', () => {
  const SENTINELS = {
    GRIMOIRE_SECRET_KEY: 'a'.repeat(64),
    GRIMOIRE_TOKEN: 'start-token-sentinel',
    GRIMOIRE_OWNER_PASSWORD: 'owner-password-sentinel',
    DATABASE_URL: 'postgres://meta:metadata-db-sentinel@127.0.0.1:1/meta',
    TEST_DATABASE_URL: 'postgres://meta:test-db-sentinel@127.0.0.1:1/test',
    PGPASSWORD: 'pgpassword-sentinel',
  };

  test("a block sees none of Grimoire's own credentials in process.env", async () => {
    const saved = Object.fromEntries(Object.keys(SENTINELS).map((k) => [k, process.env[k]]));
    Object.assign(process.env, SENTINELS);
    let session: Session;
    try {
      session = await open({
        'pipelines/p/metadata.yaml': `blocks:\n${loader('env_dump')}\n`,
        'data_loaders/env_dump.ts': 'export default async function env_dump() {\n  console.log(JSON.stringify(process.env));\n  return [{ keys: Object.keys(process.env).join(",") }];\n}\n',
      });
      // The kernel starts now, with the environment above as the server's own.
      session.kernel.warmUp();
      await new Promise<void>((resolve) => {
        const stop = session.kernel.onState((s) => {
          if (s === 'idle') {
            stop();
            resolve();
          }
        });
      });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const run = await runBlock(session, 'env_dump');
    assert.equal(statusOf(run, 'env_dump'), 'completed', JSON.stringify(run.result.blocks.get('env_dump')?.error));
    const dumped: unknown = JSON.parse(logsOf(run, 'env_dump'));
    assert.ok(dumped && typeof dumped === 'object');
    const keys = Object.keys(dumped);
    // It printed the real environment: the host's own settings for the kernel are there.
    assert.ok(keys.includes('GRIMOIRE_PIPELINE') && keys.includes('PATH'), keys.join(','));
    for (const [name, value] of Object.entries(SENTINELS)) {
      assert.ok(!keys.includes(name), `${name} reached the kernel`);
      assert.ok(!JSON.stringify(run.events).includes(value), `the value of ${name} reached the kernel`);
    }
    assert.deepEqual(keys.filter((k) => k.startsWith('GRIMOIRE_')).sort(), ['GRIMOIRE_CACHE_DIR', 'GRIMOIRE_DATA_DIR', 'GRIMOIRE_OUTPUT_COPIES', 'GRIMOIRE_PIPELINE', 'GRIMOIRE_PROJECT_DIR']);
  });

  test('the host masks passwords the kernel was given, in logs, previews and errors, with no profile loaded', async () => {
    const session = await open(
      {
        'pipelines/p/metadata.yaml': `blocks:\n${loader('print_pw')}\n${loader('throw_pw')}\n`,
        'data_loaders/print_pw.ts': 'export default async function print_pw() {\n  console.log(`pw=${process.env.SERVICE_PASSWORD}`);\n  return [{ pw: process.env.SERVICE_PASSWORD }];\n}\n',
        'data_loaders/throw_pw.ts': 'export default async function throw_pw() {\n  throw new Error(`cannot log in with ${process.env.SERVICE_PASSWORD}`);\n}\n',
      },
      { envDefaults: { SERVICE_PASSWORD: 'hunter2-but-longer' } },
    );
    const printed = await runBlock(session, 'print_pw');
    assert.equal(logsOf(printed, 'print_pw'), 'pw=***\n');
    assert.deepEqual(outputOf(printed, 'print_pw').rows, [{ pw: '***' }]);
    const thrown = await runBlock(session, 'throw_pw');
    assert.match(errorOf(thrown, 'throw_pw').message, /cannot log in with \*\*\*/);
    assert.ok(!JSON.stringify([printed.events, thrown.events]).includes('hunter2-but-longer'));
  });

  test("secrets that cannot be read fail the block with the reason", async () => {
    const session = await open(
      { 'pipelines/p/metadata.yaml': `blocks:\n${loader('plain')}\n`, 'data_loaders/plain.ts': 'export default async function plain() {\n  return [{ n: 1 }];\n}\n' },
      { secrets: () => Promise.reject(new Error('secret "X" cannot be decrypted: the secret key changed')) },
    );
    const run = await runBlock(session, 'plain');
    assert.equal(statusOf(run, 'plain'), 'failed');
    assert.match(errorOf(run, 'plain').message, /^could not read the workspace's secrets: secret "X" cannot be decrypted: the secret key changed/);
  });
});

describe('cached outputs read by a new host (a server restart)', () => {
  test('page cells, column names and chart labels are masked before anything runs', async () => {
    const project = await writeProject('restarted', {
      'pipelines/p/metadata.yaml': ['blocks:', loader('leaky', 'sql'), ''].join('\n'),
      'data_loaders/leaky.sql': "SELECT '{{ mage_secret_var('API_KEY') }}' AS key, 'x-{{ mage_secret_var('API_KEY') }}-y' AS label, '{{ mage_secret_var('API_KEY') }}'\n",
    });
    const cacheDir = path.join(dataDirOf(project.dir), 'cache', 'p');
    const options = { projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', cacheDir, secrets: async () => ({ API_KEY }) };
    const first = new KernelHost(options);
    const second = new KernelHost(options);
    cleanups.push(async () => {
      await first.close();
      await second.close();
      await project.cleanup();
    });
    const { pipeline } = await loadPipeline(project.dir, 'p');
    const run = await record({ projectDir: project.dir, pipeline, kernel: first }, { kind: 'block', block: 'leaky' });
    assert.equal(statusOf(run, 'leaky'), 'completed');
    await first.close();
    // The new host has run nothing: it must still hide the value it was never sent with a block.
    const page = await second.queryOutput('leaky', { kind: 'page', offset: 0, limit: 10, filters: [] });
    assert.ok(page.ok, page.ok ? '' : page.message);
    const text = JSON.stringify(page.answer);
    assert.ok(!text.includes(API_KEY), text);
    assert.match(text, /\*\*\*/);
    const chart = await second.queryOutput('leaky', { kind: 'chart', chart: 'bar', x: 'label', bins: 20, filters: [] });
    assert.ok(chart.ok && !JSON.stringify(chart.answer).includes(API_KEY), JSON.stringify(chart));
    // A made-up block name never becomes a path.
    const escaped = await second.queryOutput('../../../etc/passwd', { kind: 'page', offset: 0, limit: 10, filters: [] });
    assert.equal(escaped.ok, false);
  });
});
