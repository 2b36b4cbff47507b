/**
 * The issue's "done when": a newcomer builds the Zoomcamp pipeline from an empty projects folder
 * in the browser alone (templates, code typed into Monaco, an edge drawn in the graph), runs it,
 * reads the preview, and finds the rows in Postgres and the partitions in the lake. The taxi
 * files are generated and served over HTTP from this machine; Postgres is the test Postgres.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Page } from 'playwright-core';
import { findTemplate } from '../../lib/pipeline/block-templates';
import { exists } from '../../lib/project/files';
import { type RunningServer } from '../../lib/server/start';
import { writeGreenTaxiCsv } from '../../projects/demo/utils/green_taxi';
import { addBlock, block, dragHandle, edge, sourceHandle, targetHandle, typeCode } from '../support/notebook-page';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { browserWorkspace, type BrowserWorkspace } from '../support/workspace';

const MONTHS = ['2020-10', '2020-11'];
const ROWS_PER_MONTH = 4000;

let db: TestPostgres;
let files: string;
let http: Server;
let baseUrl: string;
let workspace: BrowserWorkspace;
let server: RunningServer;
let projects: BrowserWorkspace['projects'];
let page: Page;
const savedEnv: Record<string, string | undefined> = {};

before(async () => {
  db = await testPostgres();
  // Kernels take POSTGRES_* from the environment first: the new project's io_config.yaml reads them.
  for (const [k, v] of Object.entries(db.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  files = await mkdtemp(path.join(os.tmpdir(), 'grimoire-taxi-'));
  for (const m of MONTHS) await writeGreenTaxiCsv(path.join(files, `green_tripdata_${m}.csv.gz`), m, ROWS_PER_MONTH);
  http = createServer((req, res) => {
    const name = /^\/green\/(green_tripdata_\d{4}-\d{2}\.csv\.gz)$/.exec(req.url ?? '')?.[1];
    if (!name) {
      res.writeHead(404).end('not found');
      return;
    }
    const stream = createReadStream(path.join(files, name));
    stream.on('error', () => res.writeHead(404).end('not found'));
    stream.once('open', () => {
      res.writeHead(200, { 'content-type': 'application/gzip' });
      stream.pipe(res);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  baseUrl = `http://127.0.0.1:${address && typeof address === 'object' ? address.port : 0}/green`;
  workspace = await browserWorkspace({}, { wide: true });
  ({ server, projects, page } = workspace);
});

after(async () => {
  await workspace?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  if (files) await rm(files, { recursive: true, force: true });
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await db?.close();
});

const template = (id: string, uuid: string, upstream: string[]) => {
  const found = findTemplate(id);
  if (!found) throw new Error(`no template ${id}`);
  return found.code(uuid, upstream);
};

const TRANSFORMER = `export default async function clean_green_taxi(trips: DataFrame, ctx: BlockContext) {
  ctx.log(\`\${trips.rowCount} trips in\`);
  return ctx.sql\`
    SELECT VendorID AS vendor_id, lpep_pickup_datetime, lpep_dropoff_datetime, passenger_count, trip_distance,
      PULocationID AS pu_location_id, DOLocationID AS do_location_id, total_amount,
      CAST(lpep_pickup_datetime AS DATE) AS lpep_pickup_date
    FROM \${trips}
    WHERE passenger_count > 0 AND trip_distance > 0\`;
}

export async function testPassengers(output: DataFrame) {
  const bad = await output.query(\`SELECT count(*) AS n FROM \${output} WHERE passenger_count <= 0\`);
  const [row] = await bad.rows();
  if (row?.n !== 0) throw new Error(\`\${String(row?.n)} trips without passengers\`);
}
`;

const count = (text: string | null) => Number((text ?? '').replace(/[^\d]/g, ''));

test('the Zoomcamp pipeline is built from an empty project in the browser, runs, and lands in Postgres and the lake', async () => {
  await page.goto(server.url);
  const form = page.getByRole('form', { name: 'New project' });
  await form.getByLabel('Project name').fill('zoomcamp');
  await form.getByRole('button', { name: 'Create project' }).click();
  await page.waitForURL(/\/projects\/zoomcamp$/);
  await page.getByLabel('Pipeline name').fill('green_taxi_etl');
  await page.getByRole('button', { name: 'Create pipeline' }).click();
  await page.waitForURL(/\/projects\/zoomcamp\/pipelines\/green_taxi_etl$/);
  await page.getByText('No blocks yet').waitFor();

  // The loader template, pointed at where the files are (here: this machine).
  await addBlock(page, { type: 'Data loader', language: 'TypeScript', template: 'Green taxi CSV.gz from URL', name: 'load_green_taxi' });
  const loader = template('loader_green_taxi_url_ts', 'load_green_taxi', [])
    .replace(/'https:\/\/github\.com[^']*'/, `'${baseUrl}'`)
    .replace(/\['2020-10', '2020-11', '2020-12'\]/, JSON.stringify(MONTHS).replaceAll('"', "'").replace(',', ', '));
  assert.notEqual(loader, template('loader_green_taxi_url_ts', 'load_green_taxi', []), 'the template has the URL and months to replace');
  await typeCode(page, 'load_green_taxi', loader);

  // The transformer starts unconnected and is typed into Monaco; the edge is drawn in the graph.
  await addBlock(page, { type: 'Transformer', language: 'TypeScript', template: 'Generic (query upstream)', name: 'clean_green_taxi', upstream: '' });
  await typeCode(page, 'clean_green_taxi', TRANSFORMER);
  assert.equal(await edge(page, 'load_green_taxi', 'clean_green_taxi').count(), 0);
  await dragHandle(page, sourceHandle(page, 'load_green_taxi'), targetHandle(page, 'clean_green_taxi'));
  await edge(page, 'load_green_taxi', 'clean_green_taxi').waitFor({ state: 'attached' });

  // Both exporters below the transformer; the Postgres one writes to this test's schema.
  await addBlock(page, { type: 'Data exporter', language: 'TypeScript', template: 'Export to Postgres', name: 'export_postgres', upstream: 'clean_green_taxi' });
  await typeCode(page, 'export_postgres', template('exporter_postgres_ts', 'export_postgres', ['clean_green_taxi']).replace("schema: 'mage'", `schema: '${db.schema}'`));
  await addBlock(page, { type: 'Data exporter', language: 'TypeScript', template: 'Export to partitioned Parquet', name: 'export_lake', upstream: 'clean_green_taxi' });
  await edge(page, 'clean_green_taxi', 'export_postgres').waitFor({ state: 'attached' });
  await edge(page, 'clean_green_taxi', 'export_lake').waitFor({ state: 'attached' });

  await page.getByRole('button', { name: 'Run pipeline' }).click();
  for (const uuid of ['load_green_taxi', 'clean_green_taxi', 'export_postgres', 'export_lake']) {
    const status = page.getByTestId(`status-${uuid}`);
    // On failure, say what the page showed instead; looked up only then (a missing error would cost its 30 s wait).
    const shown = async () =>
      `${uuid} shows "${(await status.textContent({ timeout: 1000 }).catch(() => '')) ?? ''}": ${(await page.getByTestId(`error-${uuid}`).textContent({ timeout: 1000 }).catch(() => '')) ?? ''}`;
    await status
      .filter({ hasText: /completed|failed/ })
      .waitFor({ timeout: 90_000 })
      .catch(async (e: unknown) => assert.fail(`${await shown()} (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`));
    if (!/completed/.test((await status.textContent()) ?? '')) assert.fail(await shown());
  }

  // The preview: every trip loaded, with the homework's types; the filtered trips in the transformer.
  assert.equal(await page.getByTestId('rowcount-load_green_taxi').textContent(), `${(ROWS_PER_MONTH * MONTHS.length).toLocaleString('en-US')} rows × 20 columns`);
  const loaded = page.getByRole('table', { name: 'Output of load_green_taxi' });
  assert.ok((await loaded.getByRole('columnheader').allTextContents()).includes('lpep_pickup_datetimeTIMESTAMP'));
  const kept = count((await page.getByTestId('rowcount-clean_green_taxi').textContent())?.split('rows')[0] ?? '');
  assert.ok(kept > 0 && kept < ROWS_PER_MONTH * MONTHS.length, `kept ${kept} trips`);
  assert.match((await block(page, 'clean_green_taxi').getByLabel('Console output of clean_green_taxi').textContent()) ?? '', /8000 trips in/);
  assert.match((await block(page, 'export_postgres').getByLabel('Console output of export_postgres').textContent()) ?? '', new RegExp(`${kept} rows exported`));

  const client = await db.client();
  try {
    const got = await client.query(`SELECT count(*)::int AS n, count(DISTINCT lpep_pickup_date)::int AS days, min(passenger_count)::int AS least FROM ${db.schema}.green_taxi`);
    assert.deepEqual(got.rows[0], { n: kept, days: 61, least: 1 });
  } finally {
    await client.end();
  }
  const partitions = (await readdir(path.join(projects.root, 'zoomcamp', '.grimoire', 'lake', 'green_taxi'))).sort();
  assert.equal(partitions.length, 61);
  assert.equal(partitions[0], 'lpep_pickup_date=2020-10-01');
  assert.equal(partitions.at(-1), 'lpep_pickup_date=2020-11-30');
});

test('a running block shows the rows it has processed, live, beside its elapsed time', async () => {
  // Big enough that the binary COPY (about a million rows a second here) is seen at least twice.
  const total = 5_000_000;
  await addBlock(page, { type: 'Data exporter', language: 'TypeScript', template: 'Generic (log and pass on)', name: 'export_many', upstream: '' });
  await typeCode(
    page,
    'export_many',
    `export default async function export_many(ctx: BlockContext) {\n  const many = await ctx.query(ctx.sql\`SELECT range AS id, 'trip ' || range AS label FROM range(${total})\`);\n  const { rows } = await ctx.io.postgres('default').export(many, { schema: '${db.schema}', table: 'many' });\n  return [{ rows }];\n}\n`,
  );
  await block(page, 'export_many').getByRole('button', { name: 'Run block export_many' }).click();
  const status = page.getByTestId('status-export_many');
  const progress = page.getByTestId('progress-export_many').filter({ hasText: /→ Postgres/ });
  await progress.waitFor({ timeout: 30_000 });
  const seen = (await status.textContent()) ?? '';
  assert.match(seen, /^running · \d+\.\d s · [\d,]+ of 5,000,000 rows → Postgres$/);
  const first = count(seen.split('·')[2]?.split('of')[0] ?? '');
  // Seen while it streams: neither none nor all of the rows yet.
  assert.ok(first < total, `first count seen: ${first}`);
  await progress.filter({ hasText: new RegExp(`^(?!${first.toLocaleString('en-US')} of)`) }).waitFor({ timeout: 30_000 });
  await status.filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('progress-export_many').count(), 0, 'progress leaves with the run');
  const client = await db.client();
  try {
    assert.equal((await client.query(`SELECT count(*)::int AS n FROM ${db.schema}.many`)).rows[0]?.n, total);
  } finally {
    await client.end();
  }
});

test("the DuckDB templates, added from the menu, write the cleaned trips into the project's warehouse file and read them back", async () => {
  // A new project's default profile names data/warehouse.duckdb: the templates work as added.
  await addBlock(page, { type: 'Data exporter', language: 'TypeScript', template: 'Export to a DuckDB database', name: 'export_duckdb', upstream: 'clean_green_taxi' });
  await block(page, 'export_duckdb').getByRole('button', { name: 'Run block export_duckdb' }).click();
  await page.getByTestId('status-export_duckdb').filter({ hasText: /completed|failed/ }).waitFor({ timeout: 60_000 });
  const kept = (await page.getByTestId('rowcount-clean_green_taxi').textContent())?.split(' rows')[0] ?? '';
  assert.match((await block(page, 'export_duckdb').getByLabel('Console output of export_duckdb').textContent()) ?? '', new RegExp(`${count(kept)} rows exported`));
  await addBlock(page, { type: 'Data loader', language: 'TypeScript', template: 'DuckDB database query', name: 'read_duckdb' });
  await block(page, 'read_duckdb').getByRole('button', { name: 'Run block read_duckdb' }).click();
  await page.getByTestId('status-read_duckdb').filter({ hasText: /completed|failed/ }).waitFor({ timeout: 60_000 });
  assert.match((await page.getByTestId('rowcount-read_duckdb').textContent()) ?? '', /^1,000 rows × /);
  assert.ok(await exists(path.join(projects.root, 'zoomcamp', 'data', 'warehouse.duckdb')));
});
