/**
 * The workspace's secrets for `grimoire run`: read from the metadata store of the workspace
 * database, with one small connection rather than a whole Store (no run queue is needed to read a
 * table, and a one-shot run should not pay for one).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { workspaceSecretStore } from '../access/secret-store';
import { type Pipeline } from '../pipeline/model';

/** The schema `grimoire start` keeps its metadata in (Store.open's default). */
const STORE_SCHEMA = 'grimoire';

export interface RunSecrets {
  /** Every secret by name; {} for a workspace whose store was never made. Rejects with the reason otherwise. */
  values(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

function errorCode(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/**
 * Secrets of the workspace in `projectsDir`, from the store in `schema` of the Postgres at `url`.
 * Read once per run: a run sees one snapshot, and its blocks do not each cost a query.
 */
export function runSecrets(url: string, projectsDir: string, schema = STORE_SCHEMA): RunSecrets {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`schema name "${schema}" must be lower-case letters, digits and _`);
  const pool = new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${schema}`, connectionTimeoutMillis: 15_000 });
  pool.on('error', () => undefined);
  const store = workspaceSecretStore(pool, projectsDir);
  let read: Promise<Record<string, string>> | null = null;
  return {
    values: () =>
      (read ??= store.values().catch((e: unknown) => {
        // undefined_table: `grimoire start` never ran against this database, so nobody set a secret.
        if (errorCode(e) === '42P01') return {};
        throw e;
      })),
    close: () => pool.end(),
  };
}

/**
 * Whether a pipeline's block files mention secrets (`mage_secret_var`, `ctx.secrets`): only then
 * does a run without io_config.yaml start the workspace database to read them.
 */
export async function pipelineMentionsSecrets(projectDir: string, pipeline: Pipeline): Promise<boolean> {
  // Conditionals and callbacks run with the same context (a webhook callback reads its URL from a secret).
  for (const block of [...pipeline.blocks, ...pipeline.conditionals, ...pipeline.callbacks]) {
    const text = await fs.readFile(path.join(projectDir, block.file), 'utf8').catch(() => '');
    if (/mage_secret_var|\bsecrets\b/.test(text)) return true;
  }
  return false;
}
