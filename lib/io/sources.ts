import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ReadOptions } from '../kernel/block-api';
import { commitFile } from '../atomic-write';
import { writerTag } from '../project/leftovers';
import { quoteLiteral } from '../sql-quote';
import { unsupportedScheme } from './object-path';

export type { ReadOptions };

export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

export const isUrl = (s: string) => /^https?:\/\//i.test(s);


/**
 * Streams an HTTP(S) file to disk (never into memory) under a name that keeps its extension, so
 * DuckDB still recognises .csv.gz. Waiting for the server to answer is bounded; the body is not.
 */
export async function download(url: string, dir: string, timeoutMs = 30_000, onBytes?: (bytes: number) => void): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const base = path.basename(new URL(url).pathname) || 'download';
  const file = path.join(dir, `${createHash('sha1').update(url).digest('hex').slice(0, 10)}-${base}`);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal: abort.signal, redirect: 'follow' });
  } catch (e) {
    const reason = abort.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    throw new SourceError(`cannot download ${url}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok || !response.body) throw new SourceError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
  const tmp = `${file}.${writerTag()}.part`;
  let received = 0;
  try {
    const reader = response.body.getReader();
    // Pull-based bridge from the web stream, so a slow disk slows the download instead of buffering it.
    const body = new Readable({
      read() {
        reader.read().then(
          ({ done, value }) => {
            if (!done) {
              received += value.byteLength;
              onBytes?.(received);
            }
            this.push(done ? null : Buffer.from(value));
          },
          (e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))),
        );
      },
    });
    await pipeline(body, createWriteStream(tmp));
    await commitFile(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new SourceError(`download of ${url} broke off: ${e instanceof Error ? e.message : String(e)}`);
  }
  return file;
}

function formatOf(file: string): 'csv' | 'parquet' | 'json' {
  const name = file.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.json') || name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'json';
  return 'csv';
}

/** Local paths for the sources: URLs are downloaded, relative paths resolve against the project. */
export async function resolveSources(
  sources: readonly string[],
  projectDir: string,
  downloadsDir: string,
  /** Bytes downloaded so far, over all the URLs. */
  onBytes?: (bytes: number) => void,
): Promise<string[]> {
  if (sources.length === 0) throw new SourceError('no source files given');
  const out: string[] = [];
  let before = 0;
  for (const s of sources) {
    const refused = unsupportedScheme(s, true);
    if (refused) throw new SourceError(refused);
    if (!isUrl(s)) {
      out.push(path.resolve(projectDir, s));
      continue;
    }
    let last = 0;
    out.push(
      await download(s, downloadsDir, undefined, (bytes) => {
        last = bytes;
        onBytes?.(before + bytes);
      }),
    );
    before += last;
  }
  return out;
}

/**
 * The DuckDB query that reads files (globs allowed) with the options given; `hive` reads
 * `col=value` folders in their paths as columns (objects of a partitioned lake).
 */
export function readQuery(files: readonly string[], options: ReadOptions = {}, hive = false): string {
  const format = options.format ?? formatOf(files[0] ?? '');
  const list = `[${files.map(quoteLiteral).join(', ')}]`;
  const args: string[] = [list];
  if (hive) args.push('hive_partitioning = true');
  if (format === 'parquet') return `SELECT * FROM read_parquet(${args.join(', ')}, union_by_name = true)`;
  if (options.columns) {
    const cols = Object.entries(options.columns).map(([k, v]) => `${quoteLiteral(k)}: ${quoteLiteral(v)}`);
    args.push(`columns = {${cols.join(', ')}}`);
  }
  if (options.dateFormat) args.push(`dateformat = ${quoteLiteral(options.dateFormat)}`);
  if (options.timestampFormat) args.push(`timestampformat = ${quoteLiteral(options.timestampFormat)}`);
  if (format === 'json') return `SELECT * FROM read_json(${args.join(', ')})`;
  args.push(`header = ${options.header === false ? 'false' : 'true'}`);
  if (options.delimiter) args.push(`delim = ${quoteLiteral(options.delimiter)}`);
  return `SELECT * FROM read_csv(${args.join(', ')})`;
}
