/**
 * The block-kind templates as the add-block menu writes them, run by the engine in a real kernel:
 * the file, pipeline-run and Postgres sensors (SQL in Postgres, and TypeScript), the dynamic
 * loader fanning out, the trigger-pipeline exporter, the three conditionals, the scratchpads and
 * the markdown note, and the webhook callback with its URL in a secret (never logged) or in a
 * variable (an answer 500 told as the callback's failure). ctx.runs is answered by a stand-in host.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KernelHost, type KernelRuns } from '../../lib/kernel/host';
import { ADD_ON_TEMPLATES } from '../../lib/pipeline/add-on-templates';
import { findTemplate } from '../../lib/pipeline/block-templates';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import { type OutputPreview, type RunEvent } from '../../lib/protocol/run-events';
import { type RunsRequest } from '../../lib/protocol/runs-request';
import { type RunScope } from '../../lib/run/plan';
import { runBlocks, type RunResult } from '../support/run-engine';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { writeProject } from '../support/write-project';

const block = (id: string, uuid: string, upstream: string[] = []) => {
  const t = findTemplate(id);
  assert.ok(t, `template ${id}`);
  return t.code(uuid, upstream);
};
const addOn = (id: string, uuid: string) => {
  const t = ADD_ON_TEMPLATES.find((x) => x.id === id);
  assert.ok(t, `template ${id}`);
  return t.code(uuid, []);
};

let db: TestPostgres;
let project: Awaited<ReturnType<typeof writeProject>>;
let hook: Server;
let hookUrl = '';
const posted: { path: string; body: unknown }[] = [];
const asked: RunsRequest[] = [];
let completedCalls = 0;
const kernels: KernelHost[] = [];

/** ctx.runs as a host answers it: "nightly" completes on the second question; a trigger's run completes at once. */
const runs: KernelRuns = {
  handle: async (request, asking) => {
    asked.push(request);
    if (request.op === 'completed') return { ok: true, completed: request.pipeline === 'nightly' && ++completedCalls >= 2 };
    return { ok: true, run: { id: 'run-of-reports', pipeline: request.pipeline, status: 'completed', executionDate: request.executionDate ?? asking.executionDate } };
  },
};

before(async () => {
  db = await testPostgres();
  hook = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString('utf8')));
    req.on('end', () => {
      posted.push({ path: req.url ?? '', body: JSON.parse(text) });
      res.writeHead(req.url === '/down' ? 500 : 204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const address = hook.address();
  hookUrl = `http://127.0.0.1:${address && typeof address === 'object' ? address.port : 0}`;
  const client = await db.client();
  try {
    await client.query(`CREATE TABLE ${db.schema}.green_taxi (lpep_pickup_datetime timestamp)`);
    await client.query(`INSERT INTO ${db.schema}.green_taxi VALUES (now())`);
  } finally {
    await client.end();
  }
  const pg = (code: string) => code.replaceAll('mage.green_taxi', `${db.schema}.green_taxi`);
  const sensor = '{ poke_interval: 1, timeout: 30 }';
  project = await writeProject('kinds', {
    'io_config.yaml': `default:\n  POSTGRES_HOST: "{{ env_var('POSTGRES_HOST') }}"\n  POSTGRES_PORT: "{{ env_var('POSTGRES_PORT') }}"\n  POSTGRES_USER: "{{ env_var('POSTGRES_USER') }}"\n  POSTGRES_PASSWORD: "{{ env_var('POSTGRES_PASSWORD') }}"\n  POSTGRES_DBNAME: "{{ env_var('POSTGRES_DBNAME') }}"\n`,
    'pipelines/sensors/metadata.yaml': `variables: { wait_for_path: data/incoming/*.csv, upstream_pipeline: nightly }
blocks:
  - { uuid: wait_file, type: sensor, language: typescript, configuration: ${sensor} }
  - { uuid: wait_nightly, type: sensor, language: typescript, configuration: ${sensor} }
  - { uuid: wait_pg_sql, type: sensor, language: sql, configuration: { data_provider: postgres, data_provider_profile: default, poke_interval: 1, timeout: 30 } }
  - { uuid: wait_pg_ts, type: sensor, language: typescript, configuration: ${sensor} }
  - { uuid: after_waits, type: data_loader, language: typescript, upstream_blocks: [wait_file, wait_nightly, wait_pg_sql, wait_pg_ts] }
`,
    'sensors/wait_file.ts': block('sensor_file_exists_ts', 'wait_file'),
    'sensors/wait_nightly.ts': block('sensor_pipeline_run_ts', 'wait_nightly'),
    'sensors/wait_pg_sql.sql': pg(block('sensor_postgres_rows_sql', 'wait_pg_sql')),
    'sensors/wait_pg_ts.ts': pg(block('sensor_postgres_rows_ts', 'wait_pg_ts')),
    'data_loaders/after_waits.ts': block('loader_generic_ts', 'after_waits'),
    'pipelines/months/metadata.yaml': `variables: { months: ['2020-10', '2020-11'], next_pipeline: reports }
blocks:
  - { uuid: notes, type: markdown, language: markdown }
  - { uuid: try_ts, type: scratchpad, language: typescript }
  - { uuid: try_sql, type: scratchpad, language: sql }
  - { uuid: list_months, type: data_loader, language: typescript, configuration: { dynamic: true } }
  - { uuid: per_month, type: transformer, language: sql, upstream_blocks: [list_months], configuration: { reduce_output: true } }
  - { uuid: run_reports, type: data_exporter, language: typescript, upstream_blocks: [per_month] }
  - { uuid: weekday_total, type: transformer, language: sql, upstream_blocks: [per_month] }
conditionals:
  - { uuid: has_rows, upstream_blocks: [per_month] }
  - { uuid: run_reports_enabled, upstream_blocks: [run_reports] }
  - { uuid: weekdays, upstream_blocks: [weekday_total] }
`,
    'markdowns/notes.md': block('markdown_notes', 'notes'),
    'scratchpads/try_ts.ts': block('scratchpad_ts', 'try_ts'),
    'scratchpads/try_sql.sql': block('scratchpad_sql', 'try_sql'),
    'data_loaders/list_months.ts': block('loader_dynamic_ts', 'list_months'),
    'transformers/per_month.sql': 'SELECT month FROM {{ df_1 }}',
    'data_exporters/run_reports.ts': block('exporter_trigger_pipeline_ts', 'run_reports', ['per_month']),
    'transformers/weekday_total.sql': 'SELECT count(*) AS months FROM {{ df_1 }}',
    'conditionals/has_rows.ts': addOn('conditional_has_rows', 'has_rows'),
    'conditionals/run_reports_enabled.ts': addOn('conditional_variable', 'run_reports_enabled'),
    'conditionals/weekdays.ts': addOn('conditional_weekdays', 'weekdays'),
    'pipelines/callbacks/metadata.yaml': `blocks:
  - { uuid: bad, type: data_loader, language: typescript }
callbacks:
  - { uuid: notify, upstream_blocks: [bad] }
`,
    'data_loaders/bad.ts': 'export default async function bad() {\n  throw new Error("bad on purpose");\n}\n',
    'callbacks/notify.ts': addOn('callback_webhook', 'notify'),
  });
});

after(async () => {
  for (const k of kernels) await k.close();
  await new Promise<void>((resolve) => hook?.close(() => resolve()));
  await project?.cleanup();
  await db?.close();
});

interface Ran {
  result: RunResult;
  events: RunEvent[];
  previews: Map<string, OutputPreview>;
  logs: string;
  status: (name: string) => string | undefined;
}

async function run(pipelineUuid: string, options: { variables?: Record<string, string | boolean>; scope?: RunScope; executionDate?: Date; secrets?: Record<string, string>; onEvent?: (e: RunEvent) => void } = {}): Promise<Ran> {
  const { pipeline } = await loadPipeline(project.dir, pipelineUuid);
  const kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid, envDefaults: db.env, runs, secrets: async () => options.secrets ?? {} });
  kernels.push(kernel);
  const events: RunEvent[] = [];
  const previews = new Map<string, OutputPreview>();
  let logs = '';
  const result = await runBlocks({
    kernel,
    pipeline,
    scope: options.scope ?? { kind: 'pipeline' },
    variables: options.variables ?? {},
    ...(options.executionDate ? { executionDate: options.executionDate } : {}),
    onEvent: (e) => {
      events.push(e);
      options.onEvent?.(e);
      if (e.type === 'output') previews.set(e.block, e.preview);
      if (e.type === 'log') logs += `[${e.block}] ${e.text}`;
    },
  });
  return { result, events, previews, logs, status: (name) => result.blocks.get(name)?.status };
}

describe('sensor templates', () => {
  test('a file glob appears, another pipeline completes, Postgres has rows (SQL and TypeScript): each sensor is satisfied', { timeout: 90_000 }, async () => {
    const ran = await run('sensors', {
      onEvent: (e) => {
        if (e.type === 'block_progress' && e.block === 'wait_file' && e.progress.phase === 'sensor_wait' && e.progress.poke === 1) {
          void fs.mkdir(path.join(project.dir, 'data', 'incoming'), { recursive: true }).then(() => fs.writeFile(path.join(project.dir, 'data', 'incoming', 'trips.csv'), 'a\n1\n'));
        }
      },
    });
    assert.equal(ran.result.status, 'completed', ran.logs);
    for (const b of ['wait_file', 'wait_nightly', 'wait_pg_sql', 'wait_pg_ts', 'after_waits']) assert.equal(ran.status(b), 'completed', b);
    assert.match(ran.logs, /\[wait_file\] poke 1: not yet; next in 1 s/);
    assert.match(ran.logs, /\[wait_file\] poke 2: satisfied/);
    assert.match(ran.logs, /\[wait_nightly\] nightly has no completed run for \d{4}-\d\d-\d\d yet/);
    assert.match(ran.logs, /\[wait_nightly\] poke 2: satisfied/);
    assert.match(ran.logs, /\[wait_pg_sql\] poke 1: satisfied/);
    assert.match(ran.logs, /\[wait_pg_ts\] poke 1: satisfied/);
    assert.deepEqual(asked.filter((r) => r.op === 'completed').map((r) => r.pipeline), ['nightly', 'nightly']);
  });

  test('the file sensor refuses a path outside the project', async () => {
    const ran = await run('sensors', { variables: { wait_for_path: '../elsewhere/*.csv' }, scope: { kind: 'block', block: 'wait_file' } });
    assert.equal(ran.status('wait_file'), 'failed');
    assert.match(ran.result.blocks.get('wait_file')?.error?.message ?? '', /\.\.\/elsewhere\/\*\.csv is outside the project folder/);
  });
});

describe('dynamic loader, trigger-pipeline exporter, conditionals, scratchpads and notes', () => {
  test('the loader fans out one child per month; the trigger runs the next pipeline and waits; a Saturday skips the weekday block', { timeout: 60_000 }, async () => {
    asked.length = 0;
    const saturday = new Date('2020-10-03T00:00:00Z');
    const ran = await run('months', { variables: { run_reports_enabled: true }, executionDate: saturday });
    assert.equal(ran.result.status, 'completed', ran.logs);
    assert.equal(ran.status('per_month:2020-10'), 'completed');
    assert.equal(ran.status('per_month:2020-11'), 'completed');
    assert.deepEqual(ran.previews.get('per_month:2020-11')?.rows, [{ month: '2020-11' }]);
    assert.equal(ran.status('run_reports'), 'completed');
    assert.deepEqual(ran.previews.get('run_reports')?.rows, [{ pipeline: 'reports', run_id: 'run-of-reports', status: 'completed', execution_date: saturday.toISOString() }]);
    assert.deepEqual(asked, [{ op: 'trigger', pipeline: 'reports', variables: { triggered_by: 'months' }, wait: true }]);
    assert.equal(ran.status('weekday_total'), 'condition_failed');
    assert.ok(!ran.result.blocks.has('notes') && !ran.result.blocks.has('try_ts'), 'notes and scratchpads are not part of a pipeline run');
  });

  test('the variable conditional skips its block when the variable is not true, and says how to run it', async () => {
    const ran = await run('months', { executionDate: new Date('2020-10-05T00:00:00Z') });
    assert.equal(ran.result.status, 'completed', ran.logs);
    assert.equal(ran.status('run_reports'), 'condition_failed');
    assert.equal(ran.status('weekday_total'), 'completed', 'a Monday');
    assert.match(ran.logs, /\[run_reports\] skipped: set the variable run_reports_enabled to true to run it/);
  });

  test('scratchpads run on their own; a markdown note never runs', async () => {
    const ts = await run('months', { scope: { kind: 'block', block: 'try_ts' } });
    assert.equal(ts.status('try_ts'), 'completed', ts.logs);
    assert.equal(ts.previews.get('try_ts')?.rows[0]?.answer, 42);
    const sql = await run('months', { scope: { kind: 'block', block: 'try_sql' } });
    assert.equal(sql.previews.get('try_sql')?.rows[0]?.answer, 42);
    await assert.rejects(() => run('months', { scope: { kind: 'block', block: 'notes' } }), /markdown block/);
    assert.match(await fs.readFile(path.join(project.dir, 'markdowns', 'notes.md'), 'utf8'), /^# notes\n/);
  });
});

describe('webhook callback template', () => {
  test('a URL from the secret WEBHOOK_URL gets the failure as JSON and is never logged', async () => {
    posted.length = 0;
    const secretUrl = `${hookUrl}/hooks/s3cr3t-token`;
    const ran = await run('callbacks', { secrets: { WEBHOOK_URL: secretUrl } });
    assert.equal(ran.status('bad'), 'failed');
    assert.equal(posted.length, 1);
    assert.equal(posted[0]?.path, '/hooks/s3cr3t-token');
    assert.deepEqual(posted[0]?.body, { text: 'callbacks: bad failed: Error: bad on purpose', pipeline: 'callbacks', block: 'bad', run: ran.result.runId, status: 'failed' });
    assert.match(ran.logs, /\[bad\] posted to the webhook of secret WEBHOOK_URL/);
    assert.doesNotMatch(JSON.stringify(ran.events), /s3cr3t-token/);
    const told = ran.events.find((e) => e.type === 'callback');
    assert.ok(told?.type === 'callback' && told.hook === 'onFailure' && told.error === undefined);
  });

  test('a webhook that answers 500 is the callback failure, told (the store logs it); the block keeps its status', async () => {
    const ran = await run('callbacks', { variables: { webhook_url: `${hookUrl}/down` } });
    assert.equal(ran.status('bad'), 'failed');
    const told = ran.events.find((e) => e.type === 'callback');
    assert.ok(told?.type === 'callback' && told.error, 'the failure is told');
    assert.match(told.error.message, /\/down answered 500/);
    assert.equal(told.block, 'bad');
    assert.equal(told.callback, 'notify');
  });

  test('with neither the variable nor the secret, the callback fails naming the secret', async () => {
    const ran = await run('callbacks');
    const told = ran.events.find((e) => e.type === 'callback');
    assert.ok(told?.type === 'callback' && told.error);
    assert.match(told.error.message, /WEBHOOK_URL/);
  });
});
