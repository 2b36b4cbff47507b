/**
 * One lake export of the homework's cleaned rows, timed alone: to a local folder (`local`) or to a
 * bucket of an S3-compatible server (`s3`), through the same functions blocks use. The rows are
 * read and cleaned first (untimed), as the pipeline's upstream blocks would have.
 * Usage: node --import tsx test/bench/lake-export.ts local <lake-dir> <input.csv.gz>...
 *        node --import tsx test/bench/lake-export.ts s3 <endpoint> <input.csv.gz>...
 * Prints {"exportMs": n, "rows": n, "files": n}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseIoConfig } from '../../lib/io/io-config';
import { exportParquet } from '../../lib/io/lake';
import { exportLakeToObjects } from '../../lib/kernel/object-io';

async function main(): Promise<void> {
  const [mode, target, ...inputs] = process.argv.slice(2);
  if ((mode !== 'local' && mode !== 's3') || !target || inputs.length === 0) throw new Error('usage: lake-export.ts local|s3 <lake-dir|endpoint> <inputs...>');
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const list = `[${inputs.map((f) => `'${f}'`).join(', ')}]`;
  await duck.run(`CREATE TABLE cleaned AS
    SELECT *, CAST(lpep_pickup_datetime AS DATE) AS lpep_pickup_date
    FROM read_csv(${list}, header = true, timestampformat = '%Y-%m-%d %H:%M:%S')
    WHERE passenger_count > 0 AND trip_distance > 0`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'grimoire-bench-lake-'));
  const started = performance.now();
  let result: { rows: number; files: number };
  if (mode === 'local') {
    result = await exportParquet(duck, 'cleaned', { path: target, partitionBy: ['lpep_pickup_date'], writePolicy: 'replace' });
  } else {
    const profiles = parseIoConfig(`default:\n  AWS_ACCESS_KEY_ID: S3RVER\n  AWS_SECRET_ACCESS_KEY: S3RVER\n  AWS_ENDPOINT: ${target}\n`, {});
    result = await exportLakeToObjects(duck, 'cleaned', 's3://bench/green_taxi', { profile: 'default', partitionBy: ['lpep_pickup_date'], writePolicy: 'replace', sourceIsTable: true }, profiles, dataDir);
  }
  const exportMs = performance.now() - started;
  rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ exportMs, rows: result.rows, files: result.files }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
