/**
 * Add-block templates for the connectors (ctx.io): the Zoomcamp ones first, ready to run.
 * Kept apart from the generic templates so the two lists grow independently.
 */
import { blockParams as params, type BlockTemplate } from './block-template-type';
const first = (upstream: readonly string[]) => upstream[0] ?? 'df';

export const CONNECTOR_TEMPLATES: readonly BlockTemplate[] = [
  {
    id: 'loader_green_taxi_url_ts',
    label: 'Green taxi CSV.gz from URL',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `/**
 * NYC green taxi trips, one CSV.gz per month, with the homework's column types.
 * Set variables.base_url to where the files are (they stream to disk, never into memory).
 */
export default async function ${uuid}(${params(up)}) {
  const base = String(ctx.variables.base_url ?? 'https://github.com/DataTalksClub/nyc-tlc-data/releases/download/green');
  const months = Array.isArray(ctx.variables.months) ? ctx.variables.months.map(String) : ['2020-10', '2020-11', '2020-12'];
  return ctx.io.read(months.map((m) => \`\${base}/green_tripdata_\${m}.csv.gz\`), {
    timestampFormat: '%Y-%m-%d %H:%M:%S',
    columns: {
      VendorID: 'BIGINT', lpep_pickup_datetime: 'TIMESTAMP', lpep_dropoff_datetime: 'TIMESTAMP',
      store_and_fwd_flag: 'VARCHAR', RatecodeID: 'BIGINT', PULocationID: 'BIGINT', DOLocationID: 'BIGINT',
      passenger_count: 'BIGINT', trip_distance: 'DOUBLE', fare_amount: 'DOUBLE', extra: 'DOUBLE', mta_tax: 'DOUBLE',
      tip_amount: 'DOUBLE', tolls_amount: 'DOUBLE', ehail_fee: 'DOUBLE', improvement_surcharge: 'DOUBLE',
      total_amount: 'DOUBLE', payment_type: 'BIGINT', trip_type: 'BIGINT', congestion_surcharge: 'DOUBLE',
    },
  });
}
`,
  },
  {
    id: 'loader_url_ts',
    label: 'File from URL (CSV, Parquet, JSON)',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // HTTP(S) files stream to the data directory first; local paths and globs work too.
  return ctx.io.read('https://example.com/data.csv');
}
`,
  },
  {
    id: 'loader_postgres_ts',
    label: 'Postgres query',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // Profiles live in io_config.yaml; the result streams into DuckDB through COPY.
  return ctx.io.postgres('default').query('SELECT * FROM mage.green_taxi LIMIT 1000');
}
`,
  },
  {
    id: 'exporter_postgres_ts',
    label: 'Export to Postgres',
    type: 'data_exporter',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // replace is atomic: the new table takes the old one's place in one transaction.
  const { rows } = await ctx.io.postgres('default').export(${first(up)}, { schema: 'mage', table: 'green_taxi', writePolicy: 'replace' });
  ctx.log(\`\${rows} rows exported\`);
  return [{ rows }];
}
`,
  },
  {
    id: 'loader_duckdb_ts',
    label: 'DuckDB database query',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // The profile's DUCKDB_DATABASE (io_config.yaml) is attached under its file name while this runs.
  return ctx.io.duckdb('default').query('SELECT * FROM green_taxi LIMIT 1000');
}
`,
  },
  {
    id: 'exporter_duckdb_ts',
    label: 'Export to a DuckDB database',
    type: 'data_exporter',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // replace swaps the table whole, append adds rows by column name, fail refuses an existing table.
  const { rows } = await ctx.io.duckdb('default').export(${first(up)}, { table: 'green_taxi', writePolicy: 'replace' });
  ctx.log(\`\${rows} rows exported\`);
  return [{ rows }];
}
`,
  },
  {
    id: 'exporter_parquet_partitioned_ts',
    label: 'Export to partitioned Parquet',
    type: 'data_exporter',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // Written to a temporary folder and swapped into place: readers never see half a partition.
  const { rows, files } = await ctx.io.parquet.export(${first(up)}, {
    path: '.grimoire/lake/green_taxi',
    partitionBy: ['lpep_pickup_date'],
    writePolicy: 'replace',
  });
  ctx.log(\`\${rows} rows in \${files} files\`);
  return [{ rows, files }];
}
`,
  },
];
