/**
 * Issue #13's examples through the two hosts users schedule with: `grimoire run` (runCommand in
 * this process, with --runtime-vars) and an API-triggered run taken by a worker. One pipeline holds
 * every example: types across a TypeScript block into Postgres and the lake (1a), an unconstrained
 * numeric (1b), JSON and arrays (1c), {{ df_1 }} in Postgres SQL (2), ds as a runtime variable (4),
 * and replace under a dependent view (5). Each expected value is written out.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCommand } from '../../lib/cli/run-command';
import { postgresUrl } from '../../lib/db/embedded-postgres';
import { startOrchestration } from '../../lib/scheduler/orchestrator';
import { rotateToken, runFromApi } from '../../lib/scheduler/service';
import { type Orchestration } from '../../lib/scheduler/slot';
import { postgresProfileYaml, testPostgres, type TestPostgres } from '../support/postgres';
import { writeProject } from '../support/write-project';

let pg: TestPostgres;
let project: Awaited<ReturnType<typeof writeProject>>;
let orch: Orchestration;
let database: string;
const savedEnv = { ...process.env };

const METADATA = `blocks:
  - uuid: types_src
    type: data_loader
    language: sql
  - uuid: types_ts
    type: transformer
    language: typescript
    upstream_blocks: [types_src]
    configuration:
      destination: { type: postgres, table: typed_trips, write_policy: replace }
  - uuid: types_lake
    type: data_exporter
    language: sql
    upstream_blocks: [types_ts]
    configuration:
      destination: { type: parquet, path: lake/trips, partition_by: [pickup_date] }
  - uuid: ledger_sum
    type: data_loader
    language: sql
    configuration:
      data_provider: postgres
      destination: { type: postgres, table: ledger_out, write_policy: replace }
  - uuid: shop
    type: data_loader
    language: sql
    configuration:
      data_provider: postgres
      destination: { type: postgres, table: shops, write_policy: replace }
  - uuid: pg_upstream
    type: transformer
    language: sql
    upstream_blocks: [types_src]
    configuration: { data_provider: postgres }
  - uuid: dated
    type: data_loader
    language: sql
  - uuid: dated_log
    type: transformer
    language: typescript
    upstream_blocks: [dated]
  - uuid: pg_log
    type: transformer
    language: typescript
    upstream_blocks: [pg_upstream]
  - uuid: daily_sales
    type: data_loader
    language: sql
    configuration:
      destination: { type: postgres, table: daily_sales, write_policy: replace }
`;

before(async () => {
  pg = await testPostgres();
  const s = pg.schema;
  project = await writeProject('typed', {
    'io_config.yaml': postgresProfileYaml('default', s),
    'pipelines/examples/metadata.yaml': METADATA,
    'pipelines/examples/triggers.yaml': 'triggers:\n  - name: on_demand\n    schedule_type: api\n    status: active\n',
    'data_loaders/types_src.sql': `SELECT 1 AS id, DATE '2020-10-01' AS pickup_date, TIMESTAMPTZ '2024-03-10 12:00:00.123456+00' AS paid_at,
       12.345::DECIMAL(13,3) AS amount, NULL::VARCHAR AS note
UNION ALL SELECT 2, DATE '2020-10-02', TIMESTAMPTZ '2024-03-11 12:00:00+00', 0.100::DECIMAL(13,3), NULL
`,
    'transformers/types_ts.ts': 'export default async function types_ts(src: DataFrame) {\n  return (await src.rows()).map((r) => ({ ...r, checked: true }));\n}\n',
    'data_exporters/types_lake.sql': 'SELECT * FROM {{ df_1 }}\n',
    'data_loaders/ledger_sum.sql': `SELECT account, sum(amount) AS balance, max(amount) AS largest FROM ${s}.ledger GROUP BY account ORDER BY account\n`,
    'data_loaders/shop.sql': `SELECT 1 AS shop_id, '[["08:00","10:00"],["15:00","20:00"]]'::jsonb AS hours, '{"tags":["a","b"]}'::json AS meta, ARRAY['a','b'] AS tags\n`,
    'transformers/pg_upstream.sql': 'SELECT count(*) AS trips, min(pickup_date) AS first_day, sum(amount) AS total FROM {{ df_1 }}\n',
    'data_loaders/dated.sql': `SELECT '{{ ds }}' AS a, '{{ variables("ds") }}' AS b, '{{ execution_date }}' AS c\n`,
    'transformers/dated_log.ts': 'export default async function dated_log(d: DataFrame, ctx: BlockContext) {\n  const [r] = await d.rows();\n  console.log(`a=${String(r?.a)} b=${String(r?.b)} c=${String(r?.c)} ctx=${ctx.executionDate.toISOString()}`);\n}\n',
    'transformers/pg_log.ts': 'export default async function pg_log(d: DataFrame) {\n  const [r] = await d.rows();\n  console.log(`trips=${String(r?.trips)} first=${r?.first_day instanceof Date ? r.first_day.toISOString().slice(0, 10) : String(r?.first_day)} total=${String(r?.total)}`);\n}\n',
    'data_loaders/daily_sales.sql': `SELECT DATE '{{ ds }}' AS day, 10.5::DECIMAL(10,2) AS amount\n`,
  });
  const client = await pg.client();
  try {
    await client.query(`CREATE TABLE ${s}.ledger (account text, amount numeric(20,2));
      INSERT INTO ${s}.ledger VALUES ('acc-1', 9007199254740993.01), ('acc-1', 0.02), ('acc-2', 12345678901234567.89)`);
  } finally {
    await client.end();
  }
  // A database of its own for the run history: `grimoire run` records into the schema `grimoire
  // start` uses. The blocks' tables live in the test's schema of the test database.
  database = `g_typed_${randomBytes(4).toString('hex')}`;
  await query(`CREATE DATABASE ${database}`);
  const url = postgresUrl({ ...pg.coordinates, database });
  Object.assign(process.env, pg.env, { DATABASE_URL: url });
  orch = await startOrchestration({ url, projectsDir: project.root, kernelEnv: pg.env, log: () => undefined });
});

after(async () => {
  await orch?.close();
  process.env = savedEnv;
  if (database) await query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await project?.cleanup();
  await pg?.close();
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const client = await pg.client();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** What every run of the pipeline must have left, for the execution day `ds`. */
async function assertExamples(ds: string, runId: string): Promise<void> {
  const s = pg.schema;
  // 1a: columns the TypeScript block did not change keep their types, into Postgres and the lake.
  assert.deepEqual(
    await query(`SELECT column_name AS name, format_type(atttypid, atttypmod) AS type FROM information_schema.columns c JOIN pg_attribute a ON a.attrelid = '${s}.typed_trips'::regclass AND a.attname = c.column_name WHERE table_schema = '${s}' AND table_name = 'typed_trips' ORDER BY ordinal_position`),
    [
      { name: 'id', type: 'integer' },
      { name: 'pickup_date', type: 'date' },
      { name: 'paid_at', type: 'timestamp with time zone' },
      { name: 'amount', type: 'numeric(13,3)' },
      { name: 'note', type: 'text' },
      { name: 'checked', type: 'boolean' },
    ],
  );
  assert.deepEqual(await query(`SELECT pickup_date::text AS d, to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS paid, amount::text AS amount FROM ${s}.typed_trips ORDER BY id`), [
    { d: '2020-10-01', paid: '2024-03-10 12:00:00.123456', amount: '12.345' },
    { d: '2020-10-02', paid: '2024-03-11 12:00:00.000000', amount: '0.100' },
  ]);
  assert.deepEqual((await readdir(path.join(project.dir, 'lake', 'trips'))).sort(), ['pickup_date=2020-10-01', 'pickup_date=2020-10-02']);
  // 1b: sums of numeric(20,2) stay exact.
  assert.deepEqual(await query(`SELECT account, balance::text AS balance, largest::text AS largest FROM ${s}.ledger_out ORDER BY account`), [
    { account: 'acc-1', balance: '9007199254740993.03', largest: '9007199254740993.01' },
    { account: 'acc-2', balance: '12345678901234567.89', largest: '12345678901234567.89' },
  ]);
  // 1c: jsonb and json stay JSON, a text[] stays an array.
  assert.deepEqual(await query(`SELECT hours->1->>0 AS second_opens, meta->'tags'->>1 AS tag, tags[2] AS t2, pg_typeof(tags)::text AS tags_type FROM ${s}.shops`), [
    { second_opens: '15:00', tag: 'b', t2: 'b', tags_type: 'text[]' },
  ]);
  // 2: Postgres read the upstream's rows, typed. 4: every way of reading ds agrees.
  assert.deepEqual(await logsOf(runId, 'pg_log'), ['trips=2 first=2020-10-01 total=12.445']);
  assert.deepEqual(await logsOf(runId, 'dated_log'), [`a=${ds} b=${ds} c=${ds}T00:00:00.000Z ctx=${ds}T00:00:00.000Z`]);
  // 5: the day's sales replaced the table under the view, which still answers.
  assert.deepEqual(await query(`SELECT day::text AS day FROM ${s}.daily_sales`), [{ day: ds }]);
}

test("#13's examples through `grimoire run` with --runtime-vars, then through an API-triggered run", { timeout: 240_000 }, async () => {
  let printed = '';
  const ok = await runCommand(project.dir, 'examples', { runtimeVars: '{"ds": "2022-08-18"}' }, { write: (text) => (printed += text) });
  assert.equal(ok, true, printed);
  // The CLI prints each block's first rows: kind 2's upstream rows were read by Postgres.
  assert.match(printed, /^pg_upstream\s+completed\s+1 row/m);
  const cliRun = (await orch.store.runs.list({ kind: 'cli' }))[0];
  assert.ok(cliRun);
  assert.equal(cliRun.execution_date.toISOString(), '2022-08-18T00:00:00.000Z', 'ds sets the run execution date');
  await assertExamples('2022-08-18', cliRun.id);

  // Kind 5: a view now depends on the table the next run replaces.
  await query(`CREATE VIEW ${pg.schema}.sales_total AS SELECT sum(amount) AS total, min(day) AS day FROM ${pg.schema}.daily_sales`);
  const token = await tokenOf();
  const started = await runFromApi('typed', 'examples', 'on_demand', `Bearer ${token}`, { ds: '2022-08-19' });
  const detail = await untilFinished(started.run.id);
  assert.equal(detail.run.status, 'completed', JSON.stringify(detail.attempts.filter((a) => a.error)));
  assert.equal(detail.run.kind, 'api');
  assert.equal(detail.run.execution_date.toISOString(), '2022-08-19T00:00:00.000Z');
  await assertExamples('2022-08-19', started.run.id);
  assert.deepEqual(await query(`SELECT total::text AS total, day::text AS day FROM ${pg.schema}.sales_total`), [{ total: '10.50', day: '2022-08-19' }]);
});

/** The lines block `block` printed in run `runId`, as the run history keeps them. */
async function logsOf(runId: string, block: string): Promise<string[]> {
  return (await orch.store.logs.list(runId, { block })).filter((l) => l.stream === 'stdout').map((l) => l.text);
}

const tokenOf = () => rotateToken('typed', 'examples', 'on_demand');

async function untilFinished(id: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const detail = await orch.store.runs.detail(id);
    if (detail && ['completed', 'failed', 'cancelled'].includes(detail.run.status)) return detail;
    if (Date.now() > deadline) throw new Error(`run ${id} is still ${detail?.run.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
