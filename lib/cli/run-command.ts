import path from 'node:path';
import { errorMessage, invalidInput, notFound } from '../errors';
import { KernelHost } from '../kernel/host';
import { runBlocks } from '../kernel/run-blocks';
import { type JsonValue } from '../pipeline/model';
import { variablesSchema } from '../protocol/messages';
import { exists } from '../project/files';
import { loadPipeline } from '../project/load';
import { dataDirOf, workspaceDataDir } from '../project/paths';
import { openDatabase } from '../db/database';
import { formatCount, formatDuration, pad } from './format';
import { pipelineMentionsSecrets, runSecrets, type RunSecrets } from './run-secrets';

export function parseRuntimeVars(text: string | undefined): Record<string, JsonValue> {
  if (text === undefined) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw invalidInput(`--runtime-vars is not valid JSON: ${errorMessage(e)}`);
  }
  const parsed = variablesSchema.safeParse(data);
  if (!parsed.success) throw invalidInput(`--runtime-vars must be a JSON object, e.g. '{"year": 2020}'`);
  return parsed.data;
}

interface Out {
  write(text: string): void;
}

/** `grimoire run`: the whole pipeline in dependency order; true when every block completed. */
export async function runCommand(projectPath: string, pipelineUuid: string, runtimeVars: string | undefined, out: Out): Promise<boolean> {
  const variables = parseRuntimeVars(runtimeVars);
  const projectDir = path.resolve(projectPath);
  // Without this check a mistyped project path reads as 'pipeline "x" not found (pipelines: none)'.
  if (!(await exists(path.join(projectDir, 'metadata.yaml')))) {
    throw notFound(`no project at ${projectDir}: the project path must be a folder holding the project's metadata.yaml`);
  }
  const loaded = await loadPipeline(projectDir, pipelineUuid);
  const { pipeline } = loaded;
  // Known once the database is up; the kernel asks before each block, and no block runs before then.
  let secrets: RunSecrets | null = null;
  // The kernel starts now, while the database comes up (its coordinates follow with the blocks).
  const kernel = new KernelHost({
    projectDir,
    dataDir: dataDirOf(projectDir),
    pipelineUuid,
    // A one-shot batch run, like a trigger's: outputs pass between blocks inside DuckDB and are
    // not written out as Parquet for later (the editor's runs keep theirs).
    cacheDir: null,
    secrets: () => secrets?.values() ?? Promise.resolve({}),
  });
  kernel.warmUp();
  // A project with connection profiles may export to the workspace's Postgres (embedded unless
  // DATABASE_URL says otherwise): start it, and give blocks its coordinates as POSTGRES_* defaults.
  // Blocks that never touch Postgres must still run when the database cannot start: say why, go on.
  // Workspace secrets live there too: a pipeline that reads them needs it even without profiles.
  const needsDatabase = (await exists(path.join(projectDir, 'io_config.yaml'))) || (await pipelineMentionsSecrets(projectDir, pipeline));
  const database = needsDatabase
    ? await openDatabase(workspaceDataDir(projectDir)).catch((e: unknown) => {
        out.write(`warning: no PostgreSQL for this run (${errorMessage(e).split('\n')[0]}); blocks that export to it will fail\n`);
        return null;
      })
    : null;
  if (database) {
    kernel.setEnvDefaults(database.kernelEnv);
    secrets = runSecrets(database.url, path.dirname(projectDir));
  }
  const width = Math.max(...pipeline.blocks.map((b) => b.uuid.length), 5) + 2;
  out.write(`Running ${pipeline.uuid} (${pipeline.blocks.length} blocks) in ${projectDir}\n`);
  const started = performance.now();
  const rowsOf = new Map<string, number>();
  // SIGINT/SIGTERM must stop the kernel too: a block stuck in a loop never notices the IPC channel
  // closing, so without this a terminated `grimoire run` leaves its kernel spinning as an orphan.
  // The first signal cancels the run (SQL is interrupted, JavaScript killed after a grace period);
  // a second one kills the kernel at once.
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      void kernel.close();
      return;
    }
    out.write(`${signal}: cancelling the run\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runBlocks({
      kernel,
      pipeline,
      scope: { kind: 'pipeline' },
      releaseOutputs: true,
      variables,
      signal: controller.signal,
      onEvent: (e) => {
        switch (e.type) {
          case 'log':
            for (const line of e.text.replace(/\n$/, '').split('\n')) out.write(`  [${e.block}] ${line}\n`);
            return;
          case 'block_status': {
            if (e.status === 'queued' || e.status === 'initial') return;
            const rows = rowsOf.get(e.block);
            const figures = [
              rows === undefined ? '' : `${formatCount(rows)} ${rows === 1 ? "row" : "rows"}`,
              e.durationMs === undefined ? '' : formatDuration(e.durationMs),
            ].filter(Boolean);
            out.write(`${pad(e.block, width)}${pad(e.status, 16)}${figures.join('  ')}\n`);
            return;
          }
          case 'output':
            rowsOf.set(e.block, e.preview.rowCount);
            return;
          case 'block_error': {
            const where = e.error.file ? ` (${e.error.file}${e.error.line ? `:${e.error.line}` : ''})` : '';
            out.write(`  error${where}: ${e.error.message}\n`);
            return;
          }
          case 'run_status':
          case 'block_progress':
            return;
        }
      },
    });
    const failed = [...result.blocks.values()].filter((b) => b.status !== 'completed').length;
    out.write(
      `${result.status === 'completed' ? 'Completed' : result.status === 'cancelled' ? 'Cancelled' : 'Failed'}: ${result.blocks.size - failed} of ${result.blocks.size} blocks succeeded in ${formatDuration(performance.now() - started)}\n`,
    );
    return result.status === 'completed';
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await kernel.close();
    await secrets?.close();
    await database?.close();
  }
}
