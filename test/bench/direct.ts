/**
 * The homework done directly, as a data engineer would without Grimoire: DuckDB reads, cleans
 * and writes the lake and a CSV, then `psql \copy` loads the CSV. The benchmark's baseline.
 * Usage: node --import tsx test/bench/direct.ts <postgres-url> <lake-dir> <csv-file> <input.csv.gz>...
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { pgColumnFor } from '../../lib/io/pg-types';

async function main(): Promise<void> {
  const [url, lake, csv, ...inputs] = process.argv.slice(2);
  if (!url || !lake || !csv || inputs.length === 0) throw new Error('usage: direct.ts <url> <lake> <csv> <inputs...>');
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const list = `[${inputs.map((f) => `'${f}'`).join(', ')}]`;
  const t0 = performance.now();
  await duck.run(`CREATE TABLE cleaned AS
    SELECT "VendorID" AS vendor_id, lpep_pickup_datetime, lpep_dropoff_datetime, store_and_fwd_flag,
      "RatecodeID" AS ratecode_id, "PULocationID" AS pu_location_id, "DOLocationID" AS do_location_id,
      passenger_count, trip_distance, fare_amount, extra, mta_tax, tip_amount, tolls_amount, ehail_fee,
      improvement_surcharge, total_amount, payment_type, trip_type, congestion_surcharge,
      CAST(lpep_pickup_datetime AS DATE) AS lpep_pickup_date
    FROM read_csv(${list}, header = true, timestampformat = '%Y-%m-%d %H:%M:%S', columns = {
      'VendorID': 'BIGINT', 'lpep_pickup_datetime': 'TIMESTAMP', 'lpep_dropoff_datetime': 'TIMESTAMP',
      'store_and_fwd_flag': 'VARCHAR', 'RatecodeID': 'BIGINT', 'PULocationID': 'BIGINT', 'DOLocationID': 'BIGINT',
      'passenger_count': 'BIGINT', 'trip_distance': 'DOUBLE', 'fare_amount': 'DOUBLE', 'extra': 'DOUBLE',
      'mta_tax': 'DOUBLE', 'tip_amount': 'DOUBLE', 'tolls_amount': 'DOUBLE', 'ehail_fee': 'DOUBLE',
      'improvement_surcharge': 'DOUBLE', 'total_amount': 'DOUBLE', 'payment_type': 'BIGINT', 'trip_type': 'BIGINT',
      'congestion_surcharge': 'DOUBLE'})
    WHERE passenger_count > 0 AND trip_distance > 0`);
  rmSync(lake, { recursive: true, force: true });
  await duck.run(`COPY cleaned TO '${lake}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (lpep_pickup_date))`);
  await duck.run(`COPY cleaned TO '${csv}' (FORMAT csv, HEADER false)`);
  const head = await duck.runAndReadUntil('SELECT * FROM cleaned LIMIT 0', 0);
  const types = head.columnTypes();
  const ddl = head.columnNames().map((n, i) => `"${n}" ${pgColumnFor(n, types[i]?.toString() ?? 'VARCHAR').pgType}`).join(', ');
  const t1 = performance.now();
  const sql = `DROP TABLE IF EXISTS bench_direct.green_taxi; CREATE SCHEMA IF NOT EXISTS bench_direct; CREATE TABLE bench_direct.green_taxi (${ddl});`;
  const setup = spawnSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  if (setup.status !== 0) throw new Error(setup.stderr);
  const t2 = performance.now();
  const copy = spawnSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy bench_direct.green_taxi FROM '${csv}' CSV`], { encoding: 'utf8' });
  if (copy.status !== 0) throw new Error(copy.stderr);
  const t3 = performance.now();
  rmSync(csv, { force: true });
  process.stdout.write(JSON.stringify({ duckdbMs: t1 - t0, psqlCopyMs: t3 - t2 }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
