import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';
import { writerTag } from '../project/leftovers';

export const LAKE_WRITE_POLICIES = ['replace', 'append', 'fail'] as const;
export type LakeWritePolicy = (typeof LAKE_WRITE_POLICIES)[number];

export interface ParquetExportOptions {
  /** Absolute folder (partitioned) or file path (unpartitioned, ending in .parquet). */
  path: string;
  partitionBy?: string[];
  compression?: 'snappy' | 'zstd' | 'gzip' | 'uncompressed';
  writePolicy?: LakeWritePolicy;
}



async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** Paths of every file below `dir`, relative to it. */
export async function listFilesRecursive(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFilesRecursive(full, base)));
    else out.push(path.relative(base, full));
  }
  return out;
}

/**
 * Writes Parquet into a temporary folder beside the target and renames it into place, so a
 * failure never leaves half a partition: replace swaps the whole folder, append moves each new
 * file (uniquely named) into its partition folder.
 */
export async function exportParquet(duck: DuckDBConnection, source: string, options: ParquetExportOptions): Promise<{ rows: number; files: number }> {
  const target = path.resolve(options.path);
  const policy = options.writePolicy ?? 'replace';
  const partitioned = (options.partitionBy ?? []).length > 0;
  if (policy === 'fail' && (await exists(target))) throw new Error(`${target} already exists (write_policy: fail)`);
  await fs.mkdir(path.dirname(target), { recursive: true });
  // Named after this process, so a crash's leftover is removed at the next start (leftovers.ts).
  const staging = `${target}.tmp-${writerTag()}`;
  const opts = [`FORMAT parquet`, `COMPRESSION ${options.compression ?? 'zstd'}`];
  if (partitioned) opts.push(`PARTITION_BY (${(options.partitionBy ?? []).map(quoteIdentifier).join(', ')})`, `FILENAME_PATTERN 'part_{uuid}'`);
  const destination = partitioned ? staging : path.join(staging, `part_${randomBytes(8).toString('hex')}.parquet`);
  if (!partitioned) await fs.mkdir(staging, { recursive: true });
  let rows = 0;
  try {
    const result = await duck.runAndReadAll(`COPY (SELECT * FROM ${source}) TO ${quoteLiteral(destination)} (${opts.join(', ')})`);
    const count = result.getRowsJS()[0]?.[0];
    rows = typeof count === 'bigint' ? Number(count) : typeof count === 'number' ? count : 0;
    if (!(await exists(staging))) await fs.mkdir(staging, { recursive: true });
    const files = await listFilesRecursive(staging);
    if (policy === 'append' && (await exists(target))) {
      for (const f of files) {
        await fs.mkdir(path.dirname(path.join(target, f)), { recursive: true });
        await fs.rename(path.join(staging, f), path.join(target, f));
      }
      await fs.rm(staging, { recursive: true, force: true });
    } else {
      const trash = `${target}.old-${writerTag()}`;
      const had = await exists(target);
      if (had) await fs.rename(target, trash);
      try {
        await fs.rename(staging, target);
      } catch (e) {
        if (had) await fs.rename(trash, target);
        throw e;
      }
      if (had) await fs.rm(trash, { recursive: true, force: true });
    }
    return { rows, files: files.length };
  } catch (e) {
    await fs.rm(staging, { recursive: true, force: true });
    throw e;
  }
}

/** A query over a Parquet lake folder (hive partitions become columns): the local "external table". */
export function lakeQuery(folder: string): string {
  return `SELECT * FROM read_parquet(${quoteLiteral(path.join(path.resolve(folder), '**', '*.parquet'))}, hive_partitioning = true, union_by_name = true)`;
}
