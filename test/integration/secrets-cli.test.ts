/**
 * `grimoire secrets set|list|remove` (lib/cli/secrets-command.ts) on a real Postgres, and
 * `grimoire run` reading what it set: first against the test server in a schema of its own, then
 * on the default path (the projects folder's embedded PostgreSQL) as a user would.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { workspaceSecretStore } from '../../lib/access/secret-store';
import { pipelineMentionsSecrets, runSecrets } from '../../lib/cli/run-secrets';
import { runCommand } from '../../lib/cli/run-command';
import { secretsCommand } from '../../lib/cli/secrets-command';
import { postgresUrl } from '../../lib/db/embedded-postgres';
import { loadPipeline } from '../../lib/project/load';
import { Store } from '../../lib/store/store';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { writeProject } from '../support/write-project';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], stdin: string, environment: NodeJS.ProcessEnv, schema?: string): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const io = { stdin: Readable.from([Buffer.from(stdin)]), stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } };
  const code = await secretsCommand(args, io, { environment, schema });
  return { code, stdout, stderr };
}

/** The process environment without the variables that would point the command elsewhere. */
function baseEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'GRIMOIRE_PROJECTS', 'GRIMOIRE_SECRET_KEY']) delete env[name];
  return env;
}

describe('secrets on DATABASE_URL', () => {
  let pg: TestPostgres;
  let root: string;
  let environment: NodeJS.ProcessEnv;
  before(async () => {
    pg = await testPostgres();
    root = await mkdtemp(path.join(os.tmpdir(), 'grimoire-secrets-cli-'));
    environment = { ...baseEnvironment(), DATABASE_URL: postgresUrl(pg.coordinates), GRIMOIRE_PROJECTS: root };
  });
  after(async () => {
    await pg?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function storeValues(): Promise<Record<string, string>> {
    const store = await Store.open({ url: postgresUrl(pg.coordinates), schema: pg.schema });
    try {
      return await workspaceSecretStore(store.pool, root, {}).values();
    } finally {
      await store.close();
    }
  }

  test('set reads the value from stdin (one trailing newline dropped), list shows names only, both are audited', async () => {
    const set = await cli(['set', 'API_KEY'], 'sk-12345\n', environment, pg.schema);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'secret API_KEY set\n');
    const multi = await cli(['set', 'PEM'], 'line one\nline two\n\n', environment, pg.schema);
    assert.equal(multi.code, 0, multi.stderr);
    assert.deepEqual(await storeValues(), { API_KEY: 'sk-12345', PEM: 'line one\nline two\n' });
    // The key is in the projects folder's data folder, owner-only.
    assert.equal((await stat(path.join(root, '.grimoire', 'secret.key'))).mode & 0o777, 0o600);

    const list = await cli(['list'], '', environment, pg.schema);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, 'API_KEY\nPEM\n');
    assert.doesNotMatch(list.stdout + list.stderr + set.stdout + set.stderr, /sk-12345/);

    const audit = await pg.client();
    try {
      const rows = await audit.query<{ actor: string; action: string; target: string }>(`SELECT actor, action, target FROM ${pg.schema}.audit_log ORDER BY id`);
      assert.deepEqual(rows.rows.map((r) => [r.actor, r.action, r.target]), [['cli', 'secret_set', 'API_KEY'], ['cli', 'secret_set', 'PEM']]);
    } finally {
      await audit.end();
    }
  });

  test('remove deletes the secret and is audited; a second remove is bad input', async () => {
    const removed = await cli(['remove', 'PEM'], '', environment, pg.schema);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, 'secret PEM removed\n');
    assert.deepEqual(Object.keys(await storeValues()), ['API_KEY']);
    const again = await cli(['remove', 'PEM'], '', environment, pg.schema);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /there is no secret named PEM/);
  });

  test('bad input exits 2 with a clear message', async () => {
    const cases: [string[], string, RegExp][] = [
      [['set', 'EMPTY'], '', /the value of EMPTY is empty/],
      [['set', 'EMPTY'], '\n', /the value of EMPTY is empty/],
      [['set', '9lives'], 'v', /"9lives" is not a valid secret name/],
      [['set'], 'v', /secrets set needs a secret name/],
      [['list', 'extra'], '', /secrets list takes no name/],
      [['rotate'], '', /unknown secrets command "rotate"/],
      [[], '', /say what to do: set, list or remove/],
      [['set', 'A', '--bogus'], 'v', /Unknown option '--bogus'/],
    ];
    for (const [args, stdin, message] of cases) {
      const out = await cli(args, stdin, environment, pg.schema);
      assert.equal(out.code, 2, args.join(' '));
      assert.match(out.stderr, message, args.join(' '));
      assert.match(out.stderr, /usage:/);
    }
    assert.deepEqual(Object.keys(await storeValues()), ['API_KEY'], 'nothing was stored');
  });

  test('--projects wins over GRIMOIRE_PROJECTS (the key of that folder is used)', async () => {
    const other = await mkdtemp(path.join(os.tmpdir(), 'grimoire-secrets-other-'));
    try {
      const out = await cli(['list', '--projects', other], '', environment, pg.schema);
      assert.equal(out.code, 0, out.stderr);
      const set = await cli(['set', 'OTHER_KEY', '--projects', other], 'x-value', environment, pg.schema);
      assert.equal(set.code, 0, set.stderr);
      await stat(path.join(other, '.grimoire', 'secret.key'));
      await cli(['remove', 'OTHER_KEY', '--projects', other], '', environment, pg.schema);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  test("grimoire run's reader: the store's values, and none from a database where Grimoire never ran", async () => {
    const url = postgresUrl(pg.coordinates);
    const found = runSecrets(url, root, pg.schema);
    const empty = runSecrets(url, root, 'no_grimoire_here');
    try {
      assert.deepEqual(await found.values(), { API_KEY: 'sk-12345' });
      assert.deepEqual(await empty.values(), {});
    } finally {
      await found.close();
      await empty.close();
    }
  });
});

describe('secrets on the embedded PostgreSQL, read by grimoire run', () => {
  let project: Awaited<ReturnType<typeof writeProject>>;
  const saved = { DATABASE_URL: process.env.DATABASE_URL, GRIMOIRE_SECRET_KEY: process.env.GRIMOIRE_SECRET_KEY };
  before(async () => {
    // `grimoire run` reads process.env: the embedded server and the key file it must use.
    delete process.env.DATABASE_URL;
    delete process.env.GRIMOIRE_SECRET_KEY;
    project = await writeProject('proj', {
      'pipelines/p/metadata.yaml': [
        'blocks:',
        '  - { uuid: ts_key, type: data_loader, language: typescript, upstream_blocks: [] }',
        '  - { uuid: sql_key, type: data_loader, language: sql, upstream_blocks: [] }',
        '',
      ].join('\n'),
      'data_loaders/ts_key.ts': "export default async function ts_key(ctx: BlockContext) {\n  const key = ctx.secrets.get('RUN_KEY');\n  ctx.log(`using ${key} (${key.length} characters)`);\n  return [{ n: key.length }];\n}\n",
      'data_loaders/sql_key.sql': "SELECT length('{{ mage_secret_var('RUN_KEY') }}') AS n\n",
    });
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
    // The embedded server may still write its statistics file as it exits: retry a non-empty folder.
    if (project) await rm(project.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  test('a secret set with the CLI reaches the blocks of grimoire run, masked in its output', async () => {
    const environment = { ...baseEnvironment(), GRIMOIRE_PROJECTS: project.root };
    const set = await cli(['set', 'RUN_KEY'], 'embedded-secret-value\n', environment);
    assert.equal(set.code, 0, set.stderr);
    const { pipeline } = await loadPipeline(project.dir, 'p');
    assert.equal(await pipelineMentionsSecrets(project.dir, pipeline), true);
    let out = '';
    const ok = await runCommand(project.dir, 'p', {}, { write: (t) => (out += t) });
    assert.equal(ok, true, out);
    assert.match(out, /sql_key\s+completed\s+1 row/);
    assert.match(out, /\[ts_key\] using \*\*\* \(21 characters\)/);
    assert.doesNotMatch(out, /embedded-secret-value/);
    const list = await cli(['list'], '', environment);
    assert.equal(list.stdout, 'RUN_KEY\n');
  });
});
