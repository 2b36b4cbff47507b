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
  {
    id: 'exporter_s3_lake_ts',
    label: 'Export to a Parquet lake in S3',
    type: 'data_exporter',
    language: 'typescript',
    code: (uuid, up) => `/**
 * The homework's lake in a bucket: hive partitions under s3://<bucket>/<prefix>, with the keys of
 * an io_config.yaml profile (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, and AWS_ENDPOINT
 * for MinIO, R2 or any S3-compatible server). New objects are uploaded before old ones go.
 */
export default async function ${uuid}(${params(up)}) {
  const bucket = String(ctx.variables.bucket ?? 'my-bucket');
  const { rows, files } = await ctx.io.parquet.export(${first(up)}, {
    path: \`s3://\${bucket}/lake/green_taxi\`,
    profile: 'default',
    partitionBy: ['lpep_pickup_date'],
    writePolicy: 'replace',
  });
  ctx.log(\`\${rows} rows in \${files} objects\`);
  return [{ rows, files }];
}
`,
  },
  {
    id: 'exporter_gcs_lake_ts',
    label: 'Export to a Parquet lake in GCS (S3 interoperability)',
    type: 'data_exporter',
    language: 'typescript',
    code: (uuid, up) => `/**
 * The Zoomcamp homework's export to Google Cloud Storage, through its S3-compatible endpoint.
 * In the Cloud console: Cloud Storage > Settings > Interoperability > create an HMAC key for a
 * service account that may write the bucket. Then in io_config.yaml:
 *
 *   gcs:
 *     AWS_ACCESS_KEY_ID: "{{ env_var('GCS_HMAC_ACCESS_ID') }}"
 *     AWS_SECRET_ACCESS_KEY: "{{ mage_secret_var('gcs_hmac_secret') }}"
 *     AWS_REGION: auto
 *     AWS_ENDPOINT: https://storage.googleapis.com
 *
 * and write s3://<your bucket>/... (gs:// addresses are refused: they would need Google's own API).
 */
export default async function ${uuid}(${params(up)}) {
  const bucket = String(ctx.variables.gcs_bucket ?? 'my-gcs-bucket');
  const { rows, files } = await ctx.io.parquet.export(${first(up)}, {
    path: \`s3://\${bucket}/green_taxi\`,
    profile: 'gcs',
    partitionBy: ['lpep_pickup_date'],
    writePolicy: 'replace',
  });
  ctx.log(\`\${rows} rows in \${files} objects\`);
  return [{ rows, files }];
}
`,
  },
  {
    id: 'loader_s3_lake_ts',
    label: 'Parquet lake in S3',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // Partition folders (lpep_pickup_date=...) become columns. \`where\` over partition columns
  // skips the objects of other partitions: they are never downloaded. Downloads are cached by ETag.
  const bucket = String(ctx.variables.bucket ?? 'my-bucket');
  return ctx.io.read(\`s3://\${bucket}/lake/green_taxi/**/*.parquet\`, {
    profile: 'default',
    where: "lpep_pickup_date >= DATE '2020-10-01'",
  });
}
`,
  },
  {
    id: 'loader_s3_csv_ts',
    label: 'CSV from S3',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // Objects matching the glob (CSV, CSV.gz; Parquet and JSON too) with the profile's keys.
  const bucket = String(ctx.variables.bucket ?? 'my-bucket');
  return ctx.io.read(\`s3://\${bucket}/raw/green_tripdata_2020-*.csv.gz\`, {
    profile: 'default',
    timestampFormat: '%Y-%m-%d %H:%M:%S',
  });
}
`,
  },
];
