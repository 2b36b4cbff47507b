/**
 * Add-block templates for the block kinds beyond loaders, transformers and exporters: sensors,
 * markdown notes, scratchpads, a dynamic loader and Mage's trigger-pipeline block. Kept apart from
 * the generic templates so each list stays short.
 *
 * A template that needs configuration (a dynamic block, a sensor's poke_interval, an SQL block
 * run in Postgres) lists it in `configuration`: the add-block path writes it into the new block's
 * entry. Its comment shows the line too, for a file copied in by hand.
 */
import { blockParams as params, type BlockTemplate } from './block-template-type';

export const BLOCK_KIND_TEMPLATES: readonly BlockTemplate[] = [
  {
    id: 'sensor_generic_ts',
    label: 'Generic (true when ready)',
    type: 'sensor',
    language: 'typescript',
    configuration: { poke_interval: 60, timeout: 3600 },
    code: (uuid, up) => `/**
 * A sensor: called every poke_interval seconds until it returns true (the blocks after it run) or
 * until its timeout (it fails), both in seconds in this block's entry in metadata.yaml (Block
 * settings changes them):
 *   configuration: { poke_interval: 60, timeout: 3600 }
 */
export default async function ${uuid}(${params(up)}) {
  // For example: the day this run processes is over, so its data is complete. Replace with your check.
  const endOfDay = new Date(ctx.executionDate.getTime() + 24 * 60 * 60 * 1000);
  return new Date() >= endOfDay;
}
`,
  },
  {
    id: 'sensor_pipeline_run_ts',
    label: "Another pipeline's run completed",
    type: 'sensor',
    language: 'typescript',
    configuration: { poke_interval: 60, timeout: 3600 },
    code: (uuid, up) => `/**
 * A sensor (Mage's check_status): satisfied once pipeline \`pipeline\` of this project, or only its
 * block \`block\`, has a run for this run's execution date that completed within the last \`hours\`.
 * Poked every poke_interval seconds, as this block's entry in metadata.yaml says:
 *   configuration: { poke_interval: 60, timeout: 3600 }
 */
export default async function ${uuid}(${params(up)}) {
  const pipeline = String(ctx.variables.upstream_pipeline ?? 'other_pipeline');
  // One block of it is enough? Name it here (or in the variable upstream_block).
  const block = typeof ctx.variables.upstream_block === 'string' ? ctx.variables.upstream_block : undefined;
  const done = await ctx.runs.completed(pipeline, { block, hours: 24 });
  if (!done) ctx.log(\`\${block ? \`\${pipeline}.\${block}\` : pipeline} has no completed run for \${ctx.executionDate.toISOString().slice(0, 10)} yet\`);
  return done;
}
`,
  },
  {
    id: 'sensor_postgres_rows_sql',
    label: 'Postgres query returns rows',
    type: 'sensor',
    language: 'sql',
    configuration: { data_provider: 'postgres', data_provider_profile: 'default', poke_interval: 60, timeout: 3600 },
    code: () => `-- A sensor in SQL is satisfied when the first column of its first row is true; it is asked
-- again every poke_interval seconds until then (or until timeout, when it fails).
-- It runs in Postgres (profile "default" of io_config.yaml), not DuckDB, because this block's
-- entry in the pipeline's metadata.yaml says so (without data_provider it would run in DuckDB):
--   configuration: { data_provider: postgres, data_provider_profile: default, poke_interval: 60, timeout: 3600 }
SELECT EXISTS (
  SELECT 1
  FROM mage.green_taxi
  WHERE lpep_pickup_datetime >= DATE '{{ ds }}'
) AS ready;
`,
  },
  {
    id: 'sensor_postgres_rows_ts',
    label: 'Postgres query returns rows (TypeScript)',
    type: 'sensor',
    language: 'typescript',
    configuration: { poke_interval: 60, timeout: 3600 },
    code: (uuid, up) => `/**
 * A sensor: satisfied once the query returns a row in Postgres (profile "default" of
 * io_config.yaml). Poked every poke_interval seconds, as this block's entry in metadata.yaml says:
 *   configuration: { poke_interval: 60, timeout: 3600 }
 */
export default async function ${uuid}(${params(up)}) {
  const ds = ctx.executionDate.toISOString().slice(0, 10);
  const found = await ctx.io.postgres('default').query(
    \`SELECT 1 FROM mage.green_taxi WHERE lpep_pickup_datetime >= DATE '\${ds}' LIMIT 1\`,
  );
  return found.rowCount > 0;
}
`,
  },
  {
    id: 'sensor_file_exists_ts',
    label: 'File or glob exists (local or s3://)',
    type: 'sensor',
    language: 'typescript',
    configuration: { poke_interval: 60, timeout: 3600 },
    code: (uuid, up) => `import path from 'node:path';

/**
 * A sensor: satisfied once a file, or any file matching a glob (*, **, ?), exists. A local path is
 * relative to the project folder; s3://bucket/prefix/*.parquet is listed with the keys of the
 * io_config.yaml profile (the objects found are kept in the download cache, so a block reading
 * them next finds them there). Set the path in the variable wait_for_path, or below. Poked every
 * poke_interval seconds, as this block's entry in metadata.yaml says:
 *   configuration: { poke_interval: 60, timeout: 3600 }
 */
export default async function ${uuid}(${params(up)}) {
  const ds = ctx.executionDate.toISOString().slice(0, 10);
  const target = String(ctx.variables.wait_for_path ?? \`data/incoming/\${ds}/*.csv\`);
  if (target.startsWith('s3://')) {
    try {
      await ctx.io.read(target, { profile: 'default' });
      return true;
    } catch (e) {
      // Nothing there yet: poke again later. Any other error (keys, bucket) fails the sensor with its reason.
      if (e instanceof Error && e.message.startsWith('no objects match')) return false;
      throw e;
    }
  }
  const absolute = path.resolve(ctx.projectDir, target);
  if (path.relative(ctx.projectDir, absolute).startsWith('..')) throw new Error(\`\${target} is outside the project folder\`);
  // DuckDB's glob() lists the matching files (a plain path matches itself when it exists).
  const found = await ctx.query(ctx.sql\`SELECT count(*) AS n FROM glob(\${absolute})\`);
  const [row] = await found.rows();
  return Number(row?.n ?? 0) > 0;
}
`,
  },
  {
    id: 'markdown_notes',
    label: 'Notes',
    type: 'markdown',
    language: 'markdown',
    code: (uuid) => `# ${uuid}

What this pipeline does, where its data comes from, and whom to ask about it.

Markdown blocks are shown in the notebook and never run.
`,
  },
  {
    id: 'scratchpad_ts',
    label: 'Try things (TypeScript)',
    type: 'scratchpad',
    language: 'typescript',
    code: (uuid, up) => `/** A scratchpad: run it on its own in the editor to try things out; pipeline runs never run it. */
export default async function ${uuid}(${params(up)}) {
  const answer = await ctx.query('SELECT 42 AS answer, current_date AS today');
  ctx.log(\`\${answer.rowCount} row(s), columns: \${answer.columns.map((c) => c.name).join(', ')}\`);
  return answer;
}
`,
  },
  {
    id: 'scratchpad_sql',
    label: 'Try things (SQL)',
    type: 'scratchpad',
    language: 'sql',
    code: () => `-- A scratchpad: run it on its own in the editor to try things out; pipeline runs never run it.
SELECT 42 AS answer, current_date AS today;
`,
  },
  {
    id: 'loader_dynamic_ts',
    label: 'Dynamic: one child run per item',
    type: 'data_loader',
    language: 'typescript',
    configuration: { dynamic: true },
    code: (uuid, up) => `/**
 * A dynamic block: each item it returns runs every block downstream of it once, as
 * <downstream>:<block_uuid>, with that item as a one-row DataFrame (SQL: {{ df_1 }}). What makes
 * it dynamic is this block's entry in the pipeline's metadata.yaml:
 *   configuration: { dynamic: true }
 * Give \`configuration: { reduce_output: true }\` to the downstream block whose children's
 * outputs should reach the blocks after it as one table (Block settings has both).
 */
export default async function ${uuid}(${params(up)}) {
  const months = Array.isArray(ctx.variables.months) ? ctx.variables.months.map(String) : ['2020-10', '2020-11', '2020-12'];
  const items = months.map((month) => ({ month }));
  // One metadata row per item: block_uuid names its child runs (letters, digits, _ and -).
  const metadata = months.map((month) => ({ block_uuid: month.replace(/[^A-Za-z0-9_-]/g, '_') }));
  return [items, metadata];
}
`,
  },
  {
    id: 'exporter_trigger_pipeline_ts',
    label: 'Run another pipeline',
    type: 'data_exporter',
    language: 'typescript',
    code: (uuid, up) => `/**
 * Runs another pipeline of this project (Mage's trigger-pipeline block) for this run's execution
 * date and waits for it: this block fails, naming that run, when it does not complete.
 */
export default async function ${uuid}(${params(up)}) {
  const pipeline = String(ctx.variables.next_pipeline ?? 'other_pipeline');
  const run = await ctx.runs.trigger(pipeline, {
    variables: { triggered_by: ctx.pipelineUuid },
    wait: true,
  });
  ctx.log(\`run \${run.id} of \${pipeline} \${run.status}\`);
  return [{ pipeline, run_id: run.id, status: run.status, execution_date: run.executionDate }];
}
`,
  },
];
