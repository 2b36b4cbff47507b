import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { runCollecting, type CollectedRun } from '../support/run-engine';
import { dataDirOf } from '../../lib/project/paths';
import { postgresProfileYaml, testPostgres, type TestPostgres } from '../support/postgres';
import { writeProject } from '../support/write-project';

let db: TestPostgres;
let http: Server;
let baseUrl: string;
let project: Awaited<ReturnType<typeof writeProject>>;
let kernel: KernelHost;

const CSV = 'VendorID,lpep_pickup_datetime,passenger_count,trip_distance\n2,2020-10-01 00:00:10,1,2.5\n,2020-10-02 10:00:00,,0\n1,2020-10-02 11:30:00,2,1.25\n';

before(async () => {
  db = await testPostgres();
  http = createServer((req, res) => {
    if (req.url === '/green.csv.gz') {
      res.writeHead(200, { 'content-type': 'application/gzip' });
      res.end(gzipSync(CSV));
    } else {
      res.writeHead(404);
      res.end('nope');
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  baseUrl = `http://127.0.0.1:${address && typeof address === 'object' ? address.port : 0}`;
  const schema = db.schema;
  project = await writeProject('conn', {
    'io_config.yaml': `${postgresProfileYaml('default', schema)}wrong_password:
  POSTGRES_HOST: "{{ env_var('POSTGRES_HOST') }}"
  POSTGRES_PORT: "{{ env_var('POSTGRES_PORT') }}"
  POSTGRES_USER: nobody_here
  POSTGRES_PASSWORD: hunter2-secret
  POSTGRES_DBNAME: "{{ env_var('POSTGRES_DBNAME') }}"
`,
    'pipelines/p/metadata.yaml': `blocks:
  - uuid: from_url
    type: data_loader
    language: typescript
    configuration:
      destination: { type: postgres, table: trips, write_policy: replace }
  - uuid: lake_it
    type: transformer
    language: sql
    upstream_blocks: [from_url]
    configuration:
      destination: { type: parquet, path: lake/trips, partition_by: [pickup_date] }
  - uuid: read_lake
    type: transformer
    language: sql
    upstream_blocks: [lake_it]
  - uuid: in_postgres
    type: data_loader
    language: sql
    upstream_blocks: [from_url]
    configuration: { data_provider: postgres, data_provider_profile: default }
  - uuid: customers
    type: data_loader
    language: sql
  - uuid: pg_upper
    type: transformer
    language: sql
    upstream_blocks: [customers]
    configuration: { data_provider: postgres }
  - uuid: pg_by_name
    type: transformer
    language: sql
    upstream_blocks: [customers]
    configuration: { data_provider: postgres }
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
      destination: { type: parquet, path: lake/typed, partition_by: [pickup_date] }
  - uuid: from_rows_ts
    type: transformer
    language: typescript
    upstream_blocks: [types_src]
    configuration:
      destination: { type: postgres, table: from_rows_t, write_policy: replace }
  - uuid: none_left
    type: transformer
    language: typescript
    upstream_blocks: [types_src]
    configuration:
      destination: { type: postgres, table: kept_t, write_policy: replace }
  - uuid: ledger_sum
    type: data_loader
    language: sql
    configuration:
      data_provider: postgres
      destination: { type: postgres, table: ledger_out, write_policy: replace }
  - uuid: ledger_rows
    type: transformer
    language: typescript
    upstream_blocks: [ledger_sum]
  - uuid: not_a_number
    type: data_loader
    language: sql
    configuration: { data_provider: postgres }
  - uuid: missing_url
    type: data_loader
    language: typescript
  - uuid: bad_login
    type: data_loader
    language: typescript
  - uuid: lake_fails
    type: data_exporter
    language: typescript
    upstream_blocks: [lake_it]
`,
    'data_loaders/from_url.ts': `export default async function from_url(ctx: BlockContext) {
  return ctx.io.read('${baseUrl}/green.csv.gz', {
    columns: { VendorID: 'BIGINT', lpep_pickup_datetime: 'TIMESTAMP', passenger_count: 'BIGINT', trip_distance: 'DOUBLE' },
  });
}
`,
    'transformers/lake_it.sql': 'SELECT *, CAST(lpep_pickup_datetime AS DATE) AS pickup_date FROM {{ df_1 }}',
    'transformers/read_lake.sql': "SELECT pickup_date, count(*) AS trips FROM {{ lake('lake/trips') }} GROUP BY ALL ORDER BY pickup_date",
    'data_loaders/in_postgres.sql': `SELECT count(*) AS trips, sum(trip_distance) AS miles FROM ${schema}.trips WHERE "VendorID" IS NOT NULL;`,
    'data_loaders/customers.sql': "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, name)",
    'transformers/pg_upper.sql': 'SELECT id, upper(name) AS name FROM {{ df_1 }} ORDER BY id',
    'transformers/pg_by_name.sql': 'SELECT count(*) AS n, string_agg(name, \',\' ORDER BY id) AS names FROM {{ customers }}',
    'data_loaders/types_src.sql': `SELECT 1 AS id, DATE '2020-10-01' AS pickup_date, TIMESTAMPTZ '2024-03-10 12:00:00+00' AS paid_at,
       12.345::DECIMAL(13,3) AS amount, NULL::VARCHAR AS note
UNION ALL SELECT 2, DATE '2020-10-02', TIMESTAMPTZ '2024-03-11 12:00:00+00', 0.100::DECIMAL(13,3), NULL`,
    'transformers/types_ts.ts': 'export default async function types_ts(src: DataFrame) {\n  return (await src.rows()).map((r) => ({ ...r, checked: true }));\n}\n',
    'data_exporters/types_lake.sql': 'SELECT * FROM {{ df_1 }}',
    'data_loaders/ledger_sum.sql': `SELECT account, sum(amount) AS balance, max(amount) AS largest FROM ${schema}.ledger GROUP BY account ORDER BY account`,
    'transformers/from_rows_ts.ts': 'export default async function from_rows_ts(src: DataFrame, ctx: BlockContext) {\n  return ctx.fromRows((await src.rows()).map((r) => ({ ...r, checked: true })));\n}\n',
    'transformers/none_left.ts': 'export default async function none_left(src: DataFrame) {\n  return (await src.rows()).filter((r) => Number(r.amount) > 1000);\n}\n',
    'transformers/ledger_rows.ts': 'export default async function ledger_rows(l: DataFrame) {\n  const rows = await l.rows();\n  console.log(`balances ${rows.map((r) => String(r.balance)).join(" ")}`);\n}\n',
    'data_loaders/not_a_number.sql': "SELECT 'NaN'::numeric AS x, 1.5::numeric AS y",
    'data_loaders/missing_url.ts': `export default async function missing_url(ctx: BlockContext) {\n  return ctx.io.read('${baseUrl}/nope.csv');\n}\n`,
    'data_loaders/bad_login.ts': "export default async function bad_login(ctx: BlockContext) {\n  console.log('trying with hunter2-secret');\n  return ctx.io.postgres('wrong_password').query('SELECT 1');\n}\n",
    'data_exporters/lake_fails.ts': `export default async function lake_fails(df: DataFrame, ctx: BlockContext) {
  // Fails half-way through the write: the lake written by lake_it must survive whole.
  await ctx.io.parquet.export(ctx.sql\`SELECT trip_distance, CASE WHEN trip_distance < 2 THEN pickup_date ELSE error('boom') END AS pickup_date FROM \${df}\`, {
    path: 'lake/trips', partitionBy: ['pickup_date'],
  });
}
`,
  });
  kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', envDefaults: db.env });
});

after(async () => {
  await kernel?.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await project?.cleanup();
  await db?.close();
});

function run(block: string, kind: 'block' | 'with_upstream' = 'with_upstream'): Promise<CollectedRun> {
  return runCollecting({ kernel, projectDir: project.dir, pipelineUuid: 'p', scope: { kind, block } });
}

test('a CSV.gz from a URL loads with explicit types and lands in Postgres through its declared destination', async () => {
  const { result, previews, logs } = await run('from_url');
  assert.equal(result.status, 'completed', JSON.stringify(result.blocks.get('from_url')?.error));
  assert.deepEqual(previews.get('from_url')?.columns.map((c) => c.type), ['BIGINT', 'TIMESTAMP', 'BIGINT', 'DOUBLE']);
  assert.equal(previews.get('from_url')?.rowCount, 3);
  assert.ok(logs.includes(`exported 3 rows to Postgres ${db.schema}.trips (replace, profile default`), logs);
  const client = await db.client();
  try {
    const got = await client.query(`SELECT "VendorID" AS v, passenger_count AS p FROM ${db.schema}.trips ORDER BY lpep_pickup_datetime`);
    assert.deepEqual(got.rows, [
      { v: '2', p: '1' },
      { v: null, p: null },
      { v: '1', p: '2' },
    ]);
  } finally {
    await client.end();
  }
});

test('a parquet destination writes partitions that {{ lake() }} reads back as a table', async () => {
  const { result, previews } = await run('read_lake');
  assert.equal(result.status, 'completed', JSON.stringify([...result.blocks.values()].map((b) => b.error)));
  const partitions = await readdir(path.join(project.dir, 'lake', 'trips'));
  assert.deepEqual(partitions.sort(), ['pickup_date=2020-10-01', 'pickup_date=2020-10-02']);
  assert.deepEqual(previews.get('read_lake')?.rows, [
    { pickup_date: '2020-10-01', trips: 1 },
    { pickup_date: '2020-10-02', trips: 2 },
  ]);
});

test('a lake write that fails half-way leaves the old partitions whole', async () => {
  const before = await readdir(path.join(project.dir, 'lake', 'trips', 'pickup_date=2020-10-02'));
  const { result } = await run('lake_fails', 'block');
  assert.equal(result.status, 'failed');
  assert.match(result.blocks.get('lake_fails')?.error?.message ?? '', /boom/);
  assert.deepEqual(await readdir(path.join(project.dir, 'lake', 'trips', 'pickup_date=2020-10-02')), before);
  const leftovers = (await readdir(path.join(project.dir, 'lake'))).filter((f) => f !== 'trips');
  assert.deepEqual(leftovers, []);
});

test('an SQL block with data_provider postgres runs in Postgres and its result becomes the output', async () => {
  const { result, previews } = await run('in_postgres', 'block');
  assert.equal(result.status, 'completed', JSON.stringify(result.blocks.get('in_postgres')?.error));
  assert.deepEqual(previews.get('in_postgres')?.rows, [{ trips: 2, miles: 3.75 }]);
});

test("{{ df_1 }} in a Postgres SQL block is the upstream's rows, never a table of the database that shares its name", async () => {
  const client = await db.client();
  try {
    // A table called customers on the profile's search path, with other rows.
    await client.query(`CREATE TABLE ${db.schema}.customers (id int, name text); INSERT INTO ${db.schema}.customers VALUES (99, 'zzz')`);
  } finally {
    await client.end();
  }
  const { result, previews } = await run('pg_upper');
  assert.equal(result.status, 'completed', JSON.stringify([...result.blocks]));
  assert.deepEqual(previews.get('pg_upper')?.rows, [
    { id: 1, name: 'A' },
    { id: 2, name: 'B' },
  ]);
  const byName = await run('pg_by_name', 'block');
  assert.equal(byName.result.status, 'completed', JSON.stringify([...byName.result.blocks]));
  assert.deepEqual(byName.previews.get('pg_by_name')?.rows, [{ n: 2, names: 'a,b' }]);
});

test('rows returned by a TypeScript block keep the types of the columns it did not change, into Postgres and the lake', async () => {
  const { result, previews } = await run('types_lake');
  assert.equal(result.status, 'completed', JSON.stringify([...result.blocks]));
  assert.deepEqual(previews.get('types_ts')?.columns, [
    { name: 'id', type: 'INTEGER' },
    { name: 'pickup_date', type: 'DATE' },
    { name: 'paid_at', type: 'TIMESTAMP WITH TIME ZONE' },
    { name: 'amount', type: 'DECIMAL(13,3)' },
    { name: 'note', type: 'VARCHAR' },
    { name: 'checked', type: 'BOOLEAN' },
  ]);
  const client = await db.client();
  try {
    const types = await client.query(
      `SELECT column_name AS name, data_type AS type, numeric_precision AS p, numeric_scale AS s FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'typed_trips' ORDER BY ordinal_position`,
      [db.schema],
    );
    assert.deepEqual(types.rows, [
      { name: 'id', type: 'integer', p: 32, s: 0 },
      { name: 'pickup_date', type: 'date', p: null, s: null },
      { name: 'paid_at', type: 'timestamp with time zone', p: null, s: null },
      { name: 'amount', type: 'numeric', p: 13, s: 3 },
      { name: 'note', type: 'text', p: null, s: null },
      { name: 'checked', type: 'boolean', p: null, s: null },
    ]);
    const values = await client.query(`SELECT pickup_date::text AS d, paid_at = '2024-03-10 12:00:00+00' AS same_instant, amount::text AS amount FROM ${db.schema}.typed_trips ORDER BY id`);
    assert.deepEqual(values.rows, [
      { d: '2020-10-01', same_instant: true, amount: '12.345' },
      { d: '2020-10-02', same_instant: false, amount: '0.100' },
    ]);
  } finally {
    await client.end();
  }
  assert.deepEqual((await readdir(path.join(project.dir, 'lake', 'typed'))).sort(), ['pickup_date=2020-10-01', 'pickup_date=2020-10-02']);
});

test('rows through ctx.fromRows keep their types too; a block whose rows all filter away leaves its destination table as it was', async () => {
  const viaFromRows = await run('from_rows_ts');
  assert.equal(viaFromRows.result.status, 'completed', JSON.stringify([...viaFromRows.result.blocks]));
  assert.deepEqual(viaFromRows.previews.get('from_rows_ts')?.columns.map((c) => c.type), ['INTEGER', 'DATE', 'TIMESTAMP WITH TIME ZONE', 'DECIMAL(13,3)', 'VARCHAR', 'BOOLEAN']);
  const client = await db.client();
  try {
    await client.query(`CREATE TABLE ${db.schema}.kept_t (id integer, pickup_date date); INSERT INTO ${db.schema}.kept_t VALUES (7, '2020-01-01')`);
    const none = await run('none_left');
    assert.equal(none.result.status, 'completed', JSON.stringify([...none.result.blocks]));
    assert.match(none.logs, new RegExp(`nothing exported: the output has no rows and no columns; the profile schema\\.kept_t was left as it was`));
    assert.deepEqual((await client.query(`SELECT id, pickup_date::text AS d FROM ${db.schema}.kept_t`)).rows, [{ id: 7, d: '2020-01-01' }]);
  } finally {
    await client.end();
  }
});

test('a Postgres numeric without precision lands as an exact DECIMAL: in the output, in rows() and in the exported table', async () => {
  const client = await db.client();
  try {
    await client.query(`CREATE TABLE ${db.schema}.ledger (account text, amount numeric(20,2));
      INSERT INTO ${db.schema}.ledger VALUES ('acc-1', 9007199254740993.01), ('acc-1', 0.02), ('acc-2', 12345678901234567.89)`);
  } finally {
    await client.end();
  }
  const { result, previews, logs } = await run('ledger_rows');
  assert.equal(result.status, 'completed', JSON.stringify([...result.blocks]));
  assert.deepEqual(previews.get('ledger_sum')?.columns, [
    { name: 'account', type: 'VARCHAR' },
    { name: 'balance', type: 'DECIMAL(38,2)' },
    { name: 'largest', type: 'DECIMAL(38,2)' },
  ]);
  assert.equal(String(previews.get('ledger_sum')?.rows[0]?.balance), '9007199254740993.03');
  assert.match(logs, /balances 9007199254740993.03 12345678901234567.89/);
  const check = await db.client();
  try {
    const out = await check.query(`SELECT account, balance::text AS balance, format_type(atttypid, atttypmod) AS type FROM ${db.schema}.ledger_out, pg_attribute WHERE attrelid = '${db.schema}.ledger_out'::regclass AND attname = 'balance' ORDER BY account`);
    assert.deepEqual(out.rows, [
      { account: 'acc-1', balance: '9007199254740993.03', type: 'numeric(38,2)' },
      { account: 'acc-2', balance: '12345678901234567.89', type: 'numeric(38,2)' },
    ]);
  } finally {
    await check.end();
  }
  // NaN has no DECIMAL: the column stays text, and the log says so.
  const nan = await run('not_a_number', 'block');
  assert.equal(nan.result.status, 'completed', JSON.stringify([...nan.result.blocks]));
  assert.deepEqual(nan.previews.get('not_a_number')?.columns, [
    { name: 'x', type: 'VARCHAR' },
    { name: 'y', type: 'DECIMAL(38,1)' },
  ]);
  assert.match(nan.logs, /warning: x is a Postgres numeric that no DECIMAL holds exactly .*kept as text, not rounded/);
});

test('a missing URL and a wrong password fail with clear messages that never show the password', async () => {
  const missing = await run('missing_url', 'block');
  assert.match(missing.result.blocks.get('missing_url')?.error?.message ?? '', /cannot download http:\/\/127\.0\.0\.1:\d+\/nope\.csv: HTTP 404/);
  const login = await run('bad_login', 'block');
  const error = login.result.blocks.get('bad_login')?.error;
  assert.match(error?.message ?? '', /cannot connect to Postgres at 127\.0\.0\.1:\d+\/\w+ as nobody_here \(profile wrong_password\)/);
  assert.doesNotMatch(JSON.stringify(error), /hunter2-secret/);
  assert.equal(login.logs, 'trying with ***\n');
});
