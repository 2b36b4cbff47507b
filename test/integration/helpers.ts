/**
 * Shared setup of the integration tests: fixture projects are copied to a fresh temp folder (the
 * kernel writes its .grimoire/ data directory inside the project), and runs are recorded as events.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KernelHost } from '../../lib/kernel/host';
import { runBlocks, type RunEvent, type RunRequest, type RunResult } from '../support/run-engine';
import { type Pipeline } from '../../lib/pipeline/model';
import { type BlockError, type OutputPreview } from '../../lib/protocol/run-events';
import { loadPipeline } from '../../lib/project/load';
import { dataDirOf } from '../../lib/project/paths';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export function fixturePath(name: string): string {
  return path.join(REPO_ROOT, 'test', 'fixtures', 'projects', name);
}

/**
 * Copies a project folder (without its .grimoire/ runtime data) into a new temp workspace folder,
 * as <workspace>/<name>: the workspace's own .grimoire/ (embedded PostgreSQL) stays in the temp tree.
 */
export async function copyProject(source: string): Promise<string> {
  const workspace = await fs.mkdtemp(path.join(os.tmpdir(), `grimoire-it-${path.basename(source)}-`));
  const dir = path.join(workspace, path.basename(source));
  await fs.cp(source, dir, {
    recursive: true,
    filter: (src) => !path.relative(source, src).split(path.sep).includes('.grimoire'),
  });
  return dir;
}

export async function removeProject(dir: string): Promise<void> {
  await fs.rm(path.dirname(dir), { recursive: true, force: true });
}

export { exists } from '../../lib/project/files';

/** A loaded pipeline and a kernel for it; `close` must run in `after`/finally. */
export interface Session {
  projectDir: string;
  pipeline: Pipeline;
  kernel: KernelHost;
}

export async function openSession(projectDir: string, pipelineUuid: string): Promise<Session> {
  const { pipeline } = await loadPipeline(projectDir, pipelineUuid);
  const kernel = new KernelHost({ projectDir, dataDir: dataDirOf(projectDir), pipelineUuid });
  return { projectDir, pipeline, kernel };
}

export interface RecordedRun {
  result: RunResult;
  events: RunEvent[];
}

/** Runs a scope and keeps every event; `onEvent` sees them live too (e.g. to interrupt). */
export async function record(
  session: Session,
  scope: RunRequest['scope'],
  extra: Omit<RunRequest, 'kernel' | 'pipeline' | 'scope'> = {},
): Promise<RecordedRun> {
  const events: RunEvent[] = [];
  const result = await runBlocks({
    ...extra,
    kernel: session.kernel,
    pipeline: session.pipeline,
    scope,
    onEvent: (e) => {
      events.push(e);
      extra.onEvent?.(e);
    },
  });
  return { result, events };
}

export function statusOf(run: RecordedRun, block: string): string | undefined {
  return run.result.blocks.get(block)?.status;
}

export function outputOf(run: RecordedRun, block: string): OutputPreview {
  for (const e of run.events) if (e.type === 'output' && e.block === block) return e.preview;
  throw new Error(`block ${block} produced no output event (status ${statusOf(run, block) ?? 'not planned'})`);
}

export function errorOf(run: RecordedRun, block: string): BlockError {
  const error = run.result.blocks.get(block)?.error;
  if (!error) throw new Error(`block ${block} has no error (status ${statusOf(run, block) ?? 'not planned'})`);
  return error;
}

/** The blocks' status changes in the order they were emitted, as "block:status". */
export function transitions(run: RecordedRun): string[] {
  const out: string[] = [];
  for (const e of run.events) if (e.type === 'block_status') out.push(`${e.block}:${e.status}`);
  return out;
}

/** Every status a block went through in this run. */
export function statusesOf(run: RecordedRun, block: string): string[] {
  const out: string[] = [];
  for (const e of run.events) if (e.type === 'block_status' && e.block === block) out.push(e.status);
  return out;
}

/** Line number (1-based) of the first line of a project file that contains `needle`. */
export async function lineOf(projectDir: string, file: string, needle: string): Promise<number> {
  const lines = (await fs.readFile(path.join(projectDir, file), 'utf8')).split('\n');
  const index = lines.findIndex((l) => l.includes(needle));
  if (index < 0) throw new Error(`${file} has no line containing ${JSON.stringify(needle)}`);
  return index + 1;
}

/** Preview values are JSON: DuckDB's 64-bit integers arrive as strings; this reads either as a number. */
export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw new Error(`expected a number, got ${JSON.stringify(value)}`);
}

export function columnTypes(preview: OutputPreview): Record<string, string> {
  return Object.fromEntries(preview.columns.map((c) => [c.name, c.type]));
}
