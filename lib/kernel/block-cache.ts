/**
 * Cached block outputs (configuration.cache), kept per pipeline in the data folder as
 * `block-cache/<pipeline>/<output>.<key>.parquet` with `<output>.json` naming the latest. The key
 * is a sha256 of the block's code (the compiled bundle for TypeScript, so its imports count), its
 * configuration, each input's content (row count and an order-free sum of row hashes, with its
 * columns) and its variables. Writes are atomic (draft, then rename), so two kernels saving the
 * same block at once leave one whole entry.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { type DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { safeJoin } from '../access/path-guard';
import { writeFileAtomic } from '../atomic-write';
import { quoteIdentifier, quoteLiteral } from '../sql-quote';
import { commitOutput, outputDraft, outputFileName } from './output-files';

const entrySchema = z.object({ key: z.string(), file: z.string(), savedAt: z.string(), rowCount: z.number().int().nonnegative(), items: z.array(z.string()).optional() });
export type CacheEntry = z.infer<typeof entrySchema>;

/** What an input contributes to the key: its columns, row count and an order-free hash of its rows. */
export async function inputFingerprint(connection: DuckDBConnection, table: string): Promise<string> {
  const columns = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${table}`)).getRowObjectsJS().map((r) => `${String(r.column_name)} ${String(r.column_type)}`);
  const row = (await connection.runAndReadAll(`SELECT count(*)::VARCHAR AS n, coalesce(sum(hash(t)), 0)::VARCHAR AS h FROM ${table} AS t`)).getRowObjectsJS()[0];
  return `${columns.join(',')}|${String(row?.n)}|${String(row?.h)}`;
}

/** The cache key of one execution from its parts (see the file comment). */
export function cacheKey(parts: { code: string; configuration: unknown; inputs: readonly string[]; variables: unknown }): string {
  return createHash('sha256').update(JSON.stringify([parts.code, parts.configuration, parts.inputs, parts.variables])).digest('hex');
}

export class BlockCache {
  constructor(private readonly dir: string) {}

  private entryFile(output: string): string {
    return safeJoin(this.dir, outputFileName(output, 'json'));
  }

  /**
   * The saved entry of `output` if it has this key, its file is there and it is younger than
   * `expirationMs` (null: never expires) at `now`; else null.
   */
  async lookup(output: string, key: string, expirationMs: number | null, now: Date): Promise<(CacheEntry & { path: string }) | null> {
    let entry: CacheEntry;
    try {
      const parsed = entrySchema.safeParse(JSON.parse(await fs.readFile(this.entryFile(output), 'utf8')));
      if (!parsed.success) return null;
      entry = parsed.data;
    } catch {
      return null;
    }
    if (entry.key !== key) return null;
    if (expirationMs !== null && now.getTime() - Date.parse(entry.savedAt) >= expirationMs) return null;
    const file = safeJoin(this.dir, entry.file);
    try {
      await fs.access(file);
    } catch {
      return null;
    }
    return { ...entry, path: file };
  }

  /** Saves table `table` as the cached output of `output` under `key`, replacing the entry before it. */
  async save(connection: DuckDBConnection, table: string, output: string, entry: Omit<CacheEntry, 'file'>): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const name = outputFileName(output, `${entry.key.slice(0, 16)}.parquet`);
    const file = safeJoin(this.dir, name);
    const draft = outputDraft(file);
    await connection.run(`COPY (SELECT * FROM ${quoteIdentifier(table)}) TO ${quoteLiteral(draft)} (FORMAT parquet)`);
    await commitOutput(draft, file);
    const previous = await fs.readFile(this.entryFile(output), 'utf8').then((t) => entrySchema.safeParse(JSON.parse(t)), () => null);
    await writeFileAtomic(this.entryFile(output), JSON.stringify({ ...entry, file: name }));
    // The entry before it names another file: gone now that nothing points at it.
    if (previous?.success && previous.data.file !== name) {
      const stale = previous.data.file;
      await Promise.resolve()
        .then(() => fs.rm(safeJoin(this.dir, stale), { force: true }))
        .catch(() => undefined);
    }
  }
}
