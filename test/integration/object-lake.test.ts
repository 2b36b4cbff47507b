/**
 * The Parquet lake in a bucket (issue #17), against a real S3-compatible server the test starts
 * (s3rver behind a proxy that counts downloads and can refuse or break writes): every column type
 * round trip, partitions and row counts, replace under a reader that lists the prefix, a failure
 * part-way, append, fail, globs, the ETag cache, partition pruning, and the clear errors of bad
 * credentials, a missing bucket, an unreachable endpoint and a denied write.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { KernelHost } from '../../lib/kernel/host';
import { findTemplate } from '../../lib/pipeline/block-templates';
import { dataDirOf } from '../../lib/project/paths';
import { type OutputPreview } from '../../lib/protocol/run-events';
import { runCollecting, type CollectedRun } from '../support/run-engine';
import { testS3, type TestS3 } from '../support/s3-server';
import { writeProject } from '../support/write-project';

let s3: TestS3;
let client: S3Client;
let project: Awaited<ReturnType<typeof writeProject>>;
let kernel: KernelHost;

const template = (id: string, uuid: string, upstream: string[] = []) => {
  const found = findTemplate(id);
  assert.ok(found, `template ${id} exists`);
  return found.code(uuid, upstream);
};

const TYPES = `SELECT i::INTEGER AS id, (i % 3)::TINYINT AS tiny, i::BIGINT * 1000000000 AS big, 12.345::DECIMAL(13,3) + i AS amount,
  i * 0.5 AS half, 'name ' || i AS label, i % 2 = 0 AS even, DATE '2020-10-01' + (i % 3)::INTEGER AS pickup_date,
  TIMESTAMP '2024-01-01 05:06:07.123456' + to_seconds(i) AS ts, TIMESTAMPTZ '2024-03-10 12:00:00+00' AS tz, TIME '12:34:56' AS tm,
  INTERVAL 3 DAY AS iv, 'fe0d1e8a-f2ce-43eb-be80-e40b7867dd8f'::UUID AS u, '\\xAB\\x00'::BLOB AS bl, [i, i + 1] AS li,
  {'k': i, 'v': 'w'} AS st, '{"a": [1, 2]}'::JSON AS js, CASE WHEN i = 5 THEN NULL ELSE 'x' END AS maybe
FROM range(12) r(i)`;

before(async () => {
  s3 = await testS3(['lake', 'other']);
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const profile = (name: string, keys: string, endpoint = s3.endpoint) => `${name}:\n${keys}  AWS_REGION: us-east-1\n  AWS_ENDPOINT: ${endpoint}\n`;
  project = await writeProject('objects', {
    'io_config.yaml': [
      profile('default', "  AWS_ACCESS_KEY_ID: \"{{ env_var('TEST_S3_KEY') }}\"\n  AWS_SECRET_ACCESS_KEY: \"{{ env_var('TEST_S3_SECRET') }}\"\n"),
      profile('wrong_key', '  AWS_ACCESS_KEY_ID: NOT-A-KEY\n  AWS_SECRET_ACCESS_KEY: wrong-secret-value-42\n'),
      profile('gcs', '  AWS_ACCESS_KEY_ID: S3RVER\n  AWS_SECRET_ACCESS_KEY: S3RVER\n'),
      profile('nowhere', '  AWS_ACCESS_KEY_ID: S3RVER\n  AWS_SECRET_ACCESS_KEY: S3RVER\n', s3.deadEndpoint),
    ].join(''),
    'pipelines/p/metadata.yaml': `blocks:
  - uuid: typed
    type: data_loader
    language: sql
  - uuid: to_bucket
    type: data_exporter
    language: sql
    upstream_blocks: [typed]
    configuration:
      destination: { type: parquet, path: s3://lake/typed, partition_by: [pickup_date] }
  - uuid: from_bucket
    type: transformer
    language: sql
    upstream_blocks: [to_bucket]
  - uuid: ts_read
    type: data_loader
    language: typescript
  - uuid: ts_export
    type: data_exporter
    language: typescript
    upstream_blocks: [typed]
  - uuid: csv_read
    type: data_loader
    language: typescript
  - uuid: twin_a
    type: data_exporter
    language: sql
    upstream_blocks: [typed]
    configuration:
      destination: { type: parquet, path: s3://lake/twins, partition_by: [pickup_date] }
  - uuid: twin_b
    type: data_exporter
    language: sql
    upstream_blocks: [typed]
    configuration:
      destination: { type: parquet, path: s3://lake/twins, partition_by: [pickup_date] }
  - uuid: many_days
    type: data_loader
    language: sql
  - uuid: many_export
    type: data_exporter
    language: sql
    upstream_blocks: [many_days]
    configuration:
      destination: { type: parquet, path: s3://lake/many, partition_by: [day, kind] }
  - uuid: where_sql
    type: data_loader
    language: sql
  - uuid: bad_key
    type: data_exporter
    language: typescript
    upstream_blocks: [typed]
  - uuid: no_bucket
    type: data_loader
    language: typescript
  - uuid: unreachable
    type: data_loader
    language: typescript
  - uuid: to_gcs
    type: data_exporter
    language: typescript
    upstream_blocks: [typed]
`,
    'pipelines/templates/metadata.yaml': `variables: { bucket: other, gcs_bucket: other }
blocks:
  - { uuid: src, type: data_loader, language: sql }
  - { uuid: to_s3, type: data_exporter, language: typescript, upstream_blocks: [src] }
  - { uuid: to_gcs_s3, type: data_exporter, language: typescript, upstream_blocks: [src] }
  - { uuid: lake_back, type: data_loader, language: typescript, upstream_blocks: [to_s3] }
  - { uuid: csv_back, type: data_loader, language: typescript }
  - { uuid: export_green_taxi_bucket, type: data_exporter, language: typescript, upstream_blocks: [src] }
`,
    // The demo's optional bucket export, as shipped.
    'data_exporters/export_green_taxi_bucket.ts': readFileSync(path.join(__dirname, '..', '..', 'projects', 'demo', 'data_exporters', 'export_green_taxi_bucket.ts'), 'utf8'),
    'data_loaders/src.sql': "SELECT i AS trip, DATE '2020-09-30' + (i % 3)::INTEGER AS lpep_pickup_date, TIMESTAMP '2020-10-01 00:00:00' AS lpep_pickup_datetime FROM range(9) r(i)\n",
    'data_exporters/to_s3.ts': template('exporter_s3_lake_ts', 'to_s3', ['src']),
    'data_exporters/to_gcs_s3.ts': template('exporter_gcs_lake_ts', 'to_gcs_s3', ['src']),
    'data_loaders/lake_back.ts': template('loader_s3_lake_ts', 'lake_back', ['to_s3']),
    'data_loaders/csv_back.ts': template('loader_s3_csv_ts', 'csv_back'),
    'data_loaders/typed.sql': `${TYPES}\n`,
    'data_exporters/to_bucket.sql': 'SELECT * FROM {{ df_1 }}\n',
    // 40 partitions (20 days, each with one kind and NULL): written in groups, uploads overlapping the next group's COPY.
    'data_loaders/many_days.sql': "SELECT i AS id, DATE '2021-01-01' + (i % 20)::INTEGER AS day, CASE WHEN i % 7 = 0 THEN NULL ELSE ['a', 'b'][1 + i % 2] END AS kind FROM range({{ variables('n') }}) r(i)\n",
    'data_exporters/many_export.sql': 'SELECT * FROM {{ df_1 }}\n',
    'data_exporters/twin_a.sql': 'SELECT * FROM {{ df_1 }}\n',
    'data_exporters/twin_b.sql': 'SELECT * FROM {{ df_1 }}\n',
    'transformers/from_bucket.sql': "SELECT * FROM {{ lake('s3://lake/typed') }} ORDER BY id\n",
    'data_loaders/ts_read.ts': `export default async function ts_read(ctx: BlockContext) {
  const pattern = String(ctx.variables.pattern ?? 's3://lake/typed/**/*.parquet');
  const where = typeof ctx.variables.where === 'string' ? ctx.variables.where : undefined;
  const by = ctx.sql.unsafe(String(ctx.variables.by ?? 'pickup_date'));
  return ctx.query(ctx.sql\`SELECT \${by}, count(*)::INTEGER AS trips FROM \${await ctx.io.read(pattern, { where })} GROUP BY 1 ORDER BY 1\`);
}
`,
    'data_exporters/ts_export.ts': `export default async function ts_export(df: DataFrame, ctx: BlockContext) {
  const policy = String(ctx.variables.policy ?? 'replace') as 'replace' | 'append' | 'fail';
  const result = await ctx.io.parquet.export(df, { path: 's3://lake/trips', partitionBy: ['pickup_date'], writePolicy: policy });
  console.log(\`wrote \${result.rows} rows in \${result.files} objects\`);
}
`,
    'data_loaders/csv_read.ts': `export default async function csv_read(ctx: BlockContext) {
  return ctx.io.read('s3://lake/raw/*.csv.gz', { columns: { VendorID: 'INTEGER', fare: 'DECIMAL(8,2)' } });
}
`,
    'data_loaders/where_sql.sql': "SELECT pickup_date, count(*)::INTEGER AS trips FROM {{ lake('s3://lake/trips', where=\"pickup_date >= DATE '2020-10-02'\") }} GROUP BY 1 ORDER BY 1\n",
    'data_exporters/bad_key.ts': `export default async function bad_key(df: DataFrame, ctx: BlockContext) {
  await ctx.io.parquet.export(df, { path: 's3://lake/typed', profile: 'wrong_key' });
}
`,
    'data_loaders/no_bucket.ts': `export default async function no_bucket(ctx: BlockContext) {
  return ctx.io.read('s3://missing-bucket/x/*.parquet');
}
`,
    'data_loaders/unreachable.ts': `export default async function unreachable(ctx: BlockContext) {
  return ctx.io.read('s3://lake/typed/**/*.parquet', { profile: 'nowhere' });
}
`,
    'data_exporters/to_gcs.ts': `export default async function to_gcs(df: DataFrame, ctx: BlockContext) {
  await ctx.io.parquet.export(df, { path: 'gs://lake/typed' });
}
`,
  });
  kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', envDefaults: { TEST_S3_KEY: 'S3RVER', TEST_S3_SECRET: 'S3RVER' } });
});

after(async () => {
  await kernel?.close();
  client?.destroy();
  await s3?.stop();
  await project?.cleanup();
});

async function run(block: string, kind: 'block' | 'with_upstream' = 'block', variables: Record<string, string> = {}, pipelineUuid = 'p'): Promise<CollectedRun & { error: string }> {
  const collected = await runCollecting({ kernel, projectDir: project.dir, pipelineUuid, scope: { kind, block }, variables });
  return { ...collected, error: collected.result.blocks.get(block)?.error?.message ?? '' };
}

async function keys(prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key ?? '').sort();
}

const partitionsOf = (list: string[]) => [...new Set(list.map((k) => k.split('/')[1] ?? ''))].sort();

test('every column type goes to the bucket and comes back with its type and value; partitions are hive folders', async () => {
  const { result, previews, logs } = await run('from_bucket', 'with_upstream');
  assert.equal(result.status, 'completed', JSON.stringify([...result.blocks]));
  assert.match(logs, /exported 12 rows to s3:\/\/lake\/typed \(3 Parquet objects, replace, profile default\)/);
  const objects = await keys('typed/');
  assert.equal(objects.length, 3);
  assert.deepEqual(partitionsOf(objects), ['pickup_date=2020-10-01', 'pickup_date=2020-10-02', 'pickup_date=2020-10-03']);
  for (const k of objects) assert.match(k, /^typed\/pickup_date=2020-10-0\d\/part_[0-9a-f-]+\.parquet$/);
  const source = previews.get('typed');
  const back = previews.get('from_bucket');
  assert.ok(source && back);
  assert.equal(back.rowCount, 12);
  // The partition column comes back last, as from a local lake; every type is the source's.
  const byName = (p: OutputPreview) => Object.fromEntries(p.columns.map((c) => [c.name, c.type]));
  assert.deepEqual(byName(back), byName(source));
  assert.equal(back.columns.at(-1)?.name, 'pickup_date');
  // Both in id order: the source is, and the read orders by id.
  const byKey = (rows: readonly Record<string, unknown>[]) => rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]])));
  assert.ok(source.rows.length >= 5);
  assert.deepEqual(byKey(back.rows), byKey(source.rows));
});

test('replace: a reader listing the prefix never finds a partition missing; the old objects are gone after', async () => {
  assert.equal((await run('ts_export', 'with_upstream')).result.status, 'completed');
  const before = await keys('trips/');
  assert.equal(before.length, 3);
  let listing = true;
  const seen: string[][] = [];
  const reader = (async () => {
    while (listing) seen.push(partitionsOf(await keys('trips/')));
  })();
  const { result, logs } = await run('ts_export', 'block');
  listing = false;
  await reader;
  assert.equal(result.status, 'completed', logs);
  assert.ok(seen.length > 0);
  for (const partitions of seen) assert.deepEqual(partitions, ['pickup_date=2020-10-01', 'pickup_date=2020-10-02', 'pickup_date=2020-10-03']);
  const after = await keys('trips/');
  assert.equal(after.length, 3);
  assert.deepEqual(after.filter((k) => before.includes(k)), [], 'the old objects are removed');
});

test('a failure in the middle of the upload leaves the old objects as they were and no new ones', async () => {
  const before = await keys('trips/');
  s3.failPutsAfter(1);
  try {
    const { result, error } = await run('ts_export', 'block');
    assert.equal(result.status, 'failed');
    assert.match(error, /write s3:\/\/lake\/trips\/pickup_date=.* failed .*InternalError.*\(the lake at s3:\/\/lake\/trips was left as it was\)/);
  } finally {
    s3.failPutsAfter(null);
  }
  assert.deepEqual(await keys('trips/'), before);
});

test('append adds objects beside the old ones; fail refuses a prefix that holds objects', async () => {
  const before = await keys('trips/');
  const appended = await run('ts_export', 'block', { policy: 'append' });
  assert.equal(appended.result.status, 'completed', appended.error);
  const after = await keys('trips/');
  assert.equal(after.length, 6);
  assert.ok(before.every((k) => after.includes(k)));
  const read = await run('ts_read', 'block', { pattern: 's3://lake/trips/**/*.parquet' });
  assert.deepEqual(read.previews.get('ts_read')?.rows, [
    { pickup_date: '2020-10-01', trips: 8 },
    { pickup_date: '2020-10-02', trips: 8 },
    { pickup_date: '2020-10-03', trips: 8 },
  ]);
  const refused = await run('ts_export', 'block', { policy: 'fail' });
  assert.equal(refused.result.status, 'failed');
  assert.match(refused.error, /s3:\/\/lake\/trips already holds objects \(write_policy: fail\)/);
  assert.deepEqual(await keys('trips/'), after);
});

test('globs pick objects; a second read of unchanged objects downloads nothing; where prunes partitions before download', async () => {
  await run('ts_export', 'block', { policy: 'replace' });
  s3.resetCounts();
  const glob = await run('ts_read', 'block', { pattern: 's3://lake/trips/pickup_date=2020-10-0[12]/*.parquet' });
  assert.equal(glob.result.status, 'completed', glob.error);
  assert.deepEqual(glob.previews.get('ts_read')?.rows, [
    { pickup_date: '2020-10-01', trips: 4 },
    { pickup_date: '2020-10-02', trips: 4 },
  ]);
  assert.deepEqual([...s3.gets.keys()].map((k) => k.split('/')[2]).sort(), ['pickup_date=2020-10-01', 'pickup_date=2020-10-02']);
  s3.resetCounts();
  const again = await run('ts_read', 'block', { pattern: 's3://lake/trips/pickup_date=2020-10-0[12]/*.parquet' });
  assert.equal(again.result.status, 'completed');
  assert.equal(s3.gets.size, 0, 'unchanged objects come from the cache (same ETag)');
  s3.resetCounts();
  const pruned = await run('where_sql', 'block');
  assert.equal(pruned.result.status, 'completed', pruned.error);
  assert.deepEqual(pruned.previews.get('where_sql')?.rows, [
    { pickup_date: '2020-10-02', trips: 4 },
    { pickup_date: '2020-10-03', trips: 4 },
  ]);
  assert.deepEqual([...s3.gets.keys()].map((k) => k.split('/')[2]), ['pickup_date=2020-10-03'], 'only the partition not cached yet is downloaded, and 2020-10-01 never');
  s3.resetCounts();
  const none = await run('ts_read', 'block', { pattern: 's3://lake/trips/**/*.parquet', where: "pickup_date > DATE '2030-01-01'" });
  assert.equal(none.result.status, 'completed', none.error);
  assert.deepEqual(none.previews.get('ts_read')?.rows, []);
});

test('CSV.gz objects read with explicit types', async () => {
  await client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'raw/green_2020-10.csv.gz', Body: gzipSync('VendorID,fare\n1,12.50\n2,7.25\n') }));
  const { result, previews, error } = await run('csv_read', 'block');
  assert.equal(result.status, 'completed', error);
  assert.deepEqual(previews.get('csv_read')?.columns, [
    { name: 'VendorID', type: 'INTEGER' },
    { name: 'fare', type: 'DECIMAL(8,2)' },
  ]);
  assert.equal(previews.get('csv_read')?.rowCount, 2);
});

test('wrong keys, a missing bucket, an unreachable endpoint and a denied write fail clearly and soon, naming the bucket and profile', async () => {
  const wrong = await run('bad_key', 'with_upstream');
  assert.match(wrong.error, /the server refused the credentials of profile wrong_key for bucket "lake" \(InvalidAccessKeyId\): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  assert.doesNotMatch(JSON.stringify([...wrong.result.blocks]) + wrong.logs, /wrong-secret-value-42/);
  const missing = await run('no_bucket', 'block');
  assert.match(missing.error, /bucket "missing-bucket" does not exist \(profile default, http:\/\/127\.0\.0\.1:\d+\)/);
  const started = Date.now();
  const unreachable = await run('unreachable', 'block');
  assert.match(unreachable.error, /cannot reach http:\/\/127\.0\.0\.1:\d+ to list s3:\/\/lake\/typed\/ \(profile nowhere\): ECONNREFUSED/);
  assert.ok(Date.now() - started < 20_000, 'bounded');
  s3.denyWrites(true);
  try {
    const denied = await run('ts_export', 'block', { policy: 'append' });
    assert.match(denied.error, /access denied: profile default may not write s3:\/\/lake\/trips\/pickup_date=/);
  } finally {
    s3.denyWrites(false);
  }
});

test('a destination or source in a scheme Grimoire cannot write fails, and never lands in a local folder', async () => {
  const gcs = await run('to_gcs', 'with_upstream');
  assert.match(gcs.error, /gs:\/\/lake\/typed: gs:\/\/ is not supported; .*AWS_ENDPOINT: https:\/\/storage\.googleapis\.com/);
  assert.equal(existsSync(path.join(project.dir, 'gs:')), false);
  const { readDestination } = await import('../../lib/pipeline/destination');
  const bad = readDestination({ destination: { type: 'parquet', path: 'gs://bucket/x' } });
  assert.equal(bad.ok, false);
  const typo = readDestination({ destination: { type: 'parquet', path: 's3:/lake/typo' } });
  assert.ok(!typo.ok && /did you mean s3:\/\/lake\/typo\?/.test(typo.message));
  const whole = readDestination({ destination: { type: 'parquet', path: 's3://bucket' } });
  assert.ok(!whole.ok && /a lake never takes a whole bucket/.test(whole.message));
});

test('the object-storage templates, as added from the menu, export a lake to a bucket and read it and CSV.gz objects back', async () => {
  await client.send(new PutObjectCommand({ Bucket: 'other', Key: 'raw/green_tripdata_2020-10.csv.gz', Body: gzipSync('VendorID,lpep_pickup_datetime\n2,2020-10-01 00:00:10\n') }));
  const { result, previews, logs } = await run('lake_back', 'with_upstream', {}, 'templates');
  assert.equal(result.status, 'completed', JSON.stringify([...result.blocks]));
  assert.match(logs, /9 rows in 3 objects/);
  // The loader's where keeps 2020-10-01 and later: the 2020-09-30 partition is left out.
  assert.equal(previews.get('lake_back')?.rowCount, 6);
  const gcs = await run('to_gcs_s3', 'with_upstream', {}, 'templates');
  assert.equal(gcs.result.status, 'completed', gcs.error);
  const csv = await run('csv_back', 'block', {}, 'templates');
  assert.equal(csv.result.status, 'completed', csv.error);
  assert.deepEqual(csv.previews.get('csv_back')?.columns.map((c) => c.type), ['BIGINT', 'TIMESTAMP']);
});

test("the demo's bucket export is skipped until lake_bucket names a bucket, then writes the lake there", async () => {
  const off = await run('export_green_taxi_bucket', 'with_upstream', { lake_bucket: '' }, 'templates');
  assert.equal(off.result.status, 'completed', off.error);
  assert.match(off.logs, /skipped: set the variable lake_bucket/);
  const on = await run('export_green_taxi_bucket', 'with_upstream', { lake_bucket: 'other' }, 'templates');
  assert.equal(on.result.status, 'completed', on.error);
  assert.match(on.logs, /9 rows in 3 objects/);
  const listed = await client.send(new ListObjectsV2Command({ Bucket: 'other', Prefix: 'green_taxi/' }));
  assert.deepEqual([...new Set((listed.Contents ?? []).map((o) => (o.Key ?? '').split('/')[1]))].sort(), ['lpep_pickup_date=2020-09-30', 'lpep_pickup_date=2020-10-01', 'lpep_pickup_date=2020-10-02']);
});

test('a lake of many partitions is written in groups whose uploads overlap; every row lands once, and a failure in a later group leaves the old lake', async () => {
  const first = await run('many_export', 'with_upstream', { n: '400' });
  assert.equal(first.result.status, 'completed', JSON.stringify([...first.result.blocks]));
  const before = await keys('many/');
  const partitions = new Set(before.map((k) => k.split('/').slice(1, 3).join('/')));
  assert.equal(partitions.size, 40, '20 days, each with its kind (a on even days, b on odd) and NULL');
  assert.ok(before.every((k) => /^many\/day=2021-01-\d\d\/kind=(a|b|__HIVE_DEFAULT_PARTITION__)\/part_[0-9a-f-]+\.parquet$/.test(k)), before.join('\n'));
  const read = await run('ts_read', 'block', { pattern: 's3://lake/many/**/*.parquet', by: 'kind' });
  assert.equal(read.result.status, 'completed', read.error);
  // i % 7 = 0 is NULL (58 of 400); the rest alternate a and b.
  assert.deepEqual(read.previews.get('ts_read')?.rows, [
    { kind: 'a', trips: 171 },
    { kind: 'b', trips: 171 },
    { kind: null, trips: 58 },
  ]);
  // Uploads break after 30 objects: some groups are up, later ones not; the old lake stays whole.
  s3.failPutsAfter(30);
  try {
    const broken = await run('many_export', 'with_upstream', { n: '401' });
    assert.equal(broken.result.status, 'failed');
    assert.match(broken.error, /the lake at s3:\/\/lake\/many was left as it was/);
  } finally {
    s3.failPutsAfter(null);
  }
  assert.deepEqual(await keys('many/'), before);
});

test('objects the server kept behind an error are removed too; a server without multi-object delete still gets the old lake removed', async () => {
  await run('ts_export', 'block', { policy: 'replace' });
  const before = await keys('trips/');
  s3.storeThenFailAfter(1);
  try {
    const broken = await run('ts_export', 'block', { policy: 'replace' });
    assert.equal(broken.result.status, 'failed');
    assert.match(broken.error, /stored, then broken on purpose.*the lake at s3:\/\/lake\/trips was left as it was/);
  } finally {
    s3.storeThenFailAfter(null);
  }
  assert.deepEqual(await keys('trips/'), before, 'the objects stored behind a 500 are gone as well');
  s3.refuseMultiDelete(true);
  try {
    const replaced = await run('ts_export', 'block', { policy: 'replace' });
    assert.equal(replaced.result.status, 'completed', replaced.error);
  } finally {
    s3.refuseMultiDelete(false);
  }
  const after = await keys('trips/');
  assert.equal(after.length, 3);
  assert.deepEqual(after.filter((k) => before.includes(k)), []);
});

test('two replaces of one lake at once never empty it and say they overlapped; the next replace makes it whole', async () => {
  const { result } = await run('twin_b', 'with_upstream');
  assert.equal(result.status, 'completed');
  const both = await Promise.all([run('twin_a', 'block'), run('twin_b', 'block')]);
  // Overlapping, each sees the other's objects: never an empty lake; said, not silent.
  for (const b of both) if (b.result.status !== 'completed') assert.match(b.error, /another export wrote s3:\/\/lake\/twins while this one ran .*run the export again/);
  assert.ok((await keys('twins/')).length >= 3, 'never empty');
  // The next replace alone makes it whole.
  assert.equal((await run('twin_a', 'block')).result.status, 'completed');
  const listed = await keys('twins/');
  assert.equal(listed.length, 3, listed.join('\n'));
  const read = await run('ts_read', 'block', { pattern: 's3://lake/twins/**/*.parquet' });
  assert.equal(read.previews.get('ts_read')?.rows.reduce((n, r) => n + Number(r.trips), 0), 12);
});

test('a folder read skips markers such as _SUCCESS; the cache keeps one copy per live object; where is one condition over partition columns', async () => {
  await client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'typed/_SUCCESS', Body: '' }));
  await client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'typed/README.txt', Body: 'not data' }));
  const folder = await run('ts_read', 'block', { pattern: 's3://lake/typed' });
  assert.equal(folder.result.status, 'completed', folder.error);
  assert.equal(folder.previews.get('ts_read')?.rows.reduce((n, r) => n + Number(r.trips), 0), 12);
  // Replaced twice and read after each: the cache holds the live objects only.
  for (let i = 0; i < 2; i++) {
    await run('ts_export', 'block', { policy: 'replace' });
    await run('ts_read', 'block', { pattern: 's3://lake/trips/**/*.parquet' });
  }
  const cached = await cacheFiles(path.join(project.dir, '.grimoire', 's3-cache'), 'trips');
  assert.equal(cached.length, 3, cached.join('\n'));
  const comment = await run('ts_read', 'block', { pattern: 's3://lake/trips/**/*.parquet', where: "pickup_date >= DATE '2020-10-02' -- recent only" });
  assert.equal(comment.result.status, 'completed', comment.error);
  assert.equal(comment.previews.get('ts_read')?.rows.length, 2);
  const two = await run('ts_read', 'block', { pattern: 's3://lake/trips/**/*.parquet', where: 'true; CREATE TABLE pwned AS SELECT 1' });
  assert.match(two.error, /where "true; CREATE TABLE pwned AS SELECT 1" must be one condition over the partition columns \(pickup_date\)/);
  const other = await run('ts_read', 'block', { pattern: 's3://lake/trips/**/*.parquet', where: 'fare > 1' });
  assert.match(other.error, /where "fare > 1" is not a condition over the partition columns \(pickup_date\)/);
});

async function cacheFiles(dir: string, under: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const all = await readdir(dir, { recursive: true, withFileTypes: true });
  return all.filter((e) => e.isFile() && e.parentPath.split(path.sep).includes(under)).map((e) => path.join(e.parentPath, e.name));
}
