import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { runBlocks } from '../support/run-engine';
import { findTemplate } from '../../lib/pipeline/block-templates';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { writeProject } from '../support/write-project';

const HEADER =
  'VendorID,lpep_pickup_datetime,lpep_dropoff_datetime,store_and_fwd_flag,RatecodeID,PULocationID,DOLocationID,passenger_count,trip_distance,fare_amount,extra,mta_tax,tip_amount,tolls_amount,ehail_fee,improvement_surcharge,total_amount,payment_type,trip_type,congestion_surcharge\n';
const month = (m: string) =>
  HEADER +
  `2,${m}-01 00:00:10,${m}-01 00:13:50,N,1,138,102,1,2.37,10,0.5,0.5,0,0,,0.3,11.3,2,1,0\n` +
  `,${m}-02 08:00:00,${m}-02 08:20:00,,,74,75,,5.1,20.5,0,0.5,0,0,,0.3,21.3,,,2.75\n`;

let db: TestPostgres;
let http: Server;
let project: Awaited<ReturnType<typeof writeProject>>;
let kernel: KernelHost;

const code = (id: string, uuid: string, upstream: string[] = []) => {
  const template = findTemplate(id);
  assert.ok(template, `template ${id} exists`);
  return template.code(uuid, upstream);
};

before(async () => {
  db = await testPostgres();
  http = createServer((req, res) => {
    const m = /green_tripdata_(\d{4}-\d{2})\.csv\.gz$/.exec(req.url ?? '');
    res.writeHead(m ? 200 : 404);
    res.end(m?.[1] ? gzipSync(month(m[1])) : 'not found');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const base = `http://127.0.0.1:${address && typeof address === 'object' ? address.port : 0}`;
  project = await writeProject('zoomcamp', {
    'io_config.yaml': `default:\n  POSTGRES_HOST: "{{ env_var('POSTGRES_HOST') }}"\n  POSTGRES_PORT: "{{ env_var('POSTGRES_PORT') }}"\n  POSTGRES_USER: "{{ env_var('POSTGRES_USER') }}"\n  POSTGRES_PASSWORD: "{{ env_var('POSTGRES_PASSWORD') }}"\n  POSTGRES_DBNAME: "{{ env_var('POSTGRES_DBNAME') }}"\n`,
    'pipelines/hw/metadata.yaml': `variables:\n  base_url: ${base}\n  months: ['2020-10', '2020-11']\nblocks:
  - { uuid: load, type: data_loader, language: typescript }
  - { uuid: clean, type: transformer, language: sql, upstream_blocks: [load] }
  - { uuid: to_pg, type: data_exporter, language: typescript, upstream_blocks: [clean] }
  - { uuid: to_lake, type: data_exporter, language: typescript, upstream_blocks: [clean] }
`,
    'data_loaders/load.ts': code('loader_green_taxi_url_ts', 'load'),
    'transformers/clean.sql': 'SELECT *, CAST(lpep_pickup_datetime AS DATE) AS lpep_pickup_date FROM {{ df_1 }} WHERE passenger_count > 0',
    'data_exporters/to_pg.ts': code('exporter_postgres_ts', 'to_pg', ['clean']).replace("schema: 'mage'", `schema: '${db.schema}'`),
    'data_exporters/to_lake.ts': code('exporter_parquet_partitioned_ts', 'to_lake', ['clean']),
  });
  kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'hw', envDefaults: db.env });
});

after(async () => {
  await kernel?.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await project?.cleanup();
  await db?.close();
});

test('the Zoomcamp templates, as added from the menu, load from a URL and export to Postgres and a partitioned lake', async () => {
  const { pipeline } = await loadPipeline(project.dir, 'hw');
  const result = await runBlocks({ kernel, pipeline, scope: { kind: 'pipeline' } });
  assert.equal(result.status, 'completed', JSON.stringify([...result.blocks].map(([b, r]) => [b, r.error?.message])));
  assert.equal(result.blocks.get('load')?.rowCount, 4);
  const client = await db.client();
  try {
    const got = await client.query(`SELECT count(*)::int AS n FROM ${db.schema}.green_taxi`);
    assert.equal(got.rows[0]?.n, 2);
  } finally {
    await client.end();
  }
  const partitions = await readdir(path.join(project.dir, '.grimoire', 'lake', 'green_taxi'));
  assert.deepEqual(partitions.sort(), ['lpep_pickup_date=2020-10-01', 'lpep_pickup_date=2020-11-01']);
});
