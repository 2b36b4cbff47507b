/**
 * Live progress of a running block: the kernel reports exact rows as they stream to Postgres,
 * throttled, while the block runs (not only at the end).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KernelHost } from '../../lib/kernel/host';
import { runBlocks, type RunEvent } from '../support/run-engine';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { writeProject } from '../support/write-project';

const ROWS = 1_500_000;

let db: TestPostgres;
let project: Awaited<ReturnType<typeof writeProject>>;
let kernel: KernelHost;

before(async () => {
  db = await testPostgres();
  project = await writeProject('progress', {
    'io_config.yaml': `default:\n  POSTGRES_HOST: "{{ env_var('POSTGRES_HOST') }}"\n  POSTGRES_PORT: "{{ env_var('POSTGRES_PORT') }}"\n  POSTGRES_USER: "{{ env_var('POSTGRES_USER') }}"\n  POSTGRES_PASSWORD: "{{ env_var('POSTGRES_PASSWORD') }}"\n  POSTGRES_DBNAME: "{{ env_var('POSTGRES_DBNAME') }}"\n`,
    'pipelines/p/metadata.yaml': `blocks:
  - { uuid: many, type: data_loader, language: sql }
  - { uuid: to_pg, type: data_exporter, language: typescript, upstream_blocks: [many] }
`,
    'data_loaders/many.sql': `SELECT range AS id, 'trip ' || range AS label, range % 17 AS zone FROM range(${ROWS})`,
    'data_exporters/to_pg.ts': `export default async function to_pg(many: DataFrame, ctx: BlockContext) {
  const { rows } = await ctx.io.postgres('default').export(many, { schema: '${db.schema}', table: 'many', writePolicy: 'replace' });
  return [{ rows }];
}
`,
  });
  kernel = new KernelHost({ projectDir: project.dir, dataDir: dataDirOf(project.dir), pipelineUuid: 'p', envDefaults: db.env });
});

after(async () => {
  await kernel?.close();
  await project?.cleanup();
  await db?.close();
});

test('a Postgres export reports exact rows while it streams, at most every 250 ms, before the block completes', async () => {
  const { pipeline } = await loadPipeline(project.dir, 'p');
  const events: { at: number; event: RunEvent }[] = [];
  const result = await runBlocks({ kernel, pipeline, scope: { kind: 'pipeline' }, onEvent: (event) => events.push({ at: Date.now(), event }) });
  assert.equal(result.status, 'completed', JSON.stringify([...result.blocks].map(([b, r]) => [b, r.error?.message])));

  const progress = events.flatMap(({ at, event }) => (event.type === 'block_progress' && event.block === 'to_pg' && event.progress.phase === 'postgres_export' ? [{ at, ...event.progress }] : []));
  assert.ok(progress.length >= 2, `expected several export progress messages, got ${JSON.stringify(progress)}`);
  const rows = progress.map((p) => p.rows ?? -1);
  assert.deepEqual([...rows].sort((a, b) => a - b), rows, 'rows only grow');
  assert.ok(rows.some((r) => r > 0 && r < ROWS), `a count seen mid-stream: ${rows.join(', ')}`);
  assert.ok(rows.every((r) => r <= ROWS));
  assert.ok(progress.every((p) => p.total === ROWS), 'the total is the frame size');
  for (let i = 1; i < progress.length; i++) {
    const gap = (progress[i]?.at ?? 0) - (progress[i - 1]?.at ?? 0);
    assert.ok(gap >= 200, `messages ${gap} ms apart`);
  }
  // Progress comes while the block runs: before its completed status.
  const done = events.findIndex(({ event }) => event.type === 'block_status' && event.block === 'to_pg' && event.status === 'completed');
  const lastProgress = events.findLastIndex(({ event }) => event.type === 'block_progress' && event.block === 'to_pg');
  assert.ok(lastProgress >= 0 && lastProgress < done);

  const client = await db.client();
  try {
    const got = await client.query(`SELECT count(*)::int AS n FROM ${db.schema}.many`);
    assert.equal(got.rows[0]?.n, ROWS);
  } finally {
    await client.end();
  }
});
