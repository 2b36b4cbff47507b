import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { invalidInput } from '../errors';
import { parsePipelineQueues, type PipelineQueues } from '../pipeline/executor-config';
import { type Pipeline } from '../pipeline/model';
import { loadPipeline } from '../project/load';
import { blockRunConfigs, type BlockRunConfig, RetryConfigError } from '../scheduler/retry';

/** A pipeline as a run needs it: its blocks, and each block's retry_config and timeout. */
export interface RunSettings {
  pipeline: Pipeline;
  /** The pipeline's metadata.yaml text as read (a run pins the code it ran). */
  metadataText: string;
  /** Per block uuid; a block missing here runs once, without a time limit. */
  blockConfigs: Map<string, BlockRunConfig>;
  /** Mage's `concurrency_config.block_run_limit`: blocks of one run at once; null for the default. */
  blockRunLimit: number | null;
  /** executor_config.queue of the pipeline and its blocks: which workers may run each block. */
  queues: PipelineQueues;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `concurrency_config: { block_run_limit: N }` of a pipeline's metadata.yaml data; invalid input names the field. */
export function parseBlockRunLimit(pipelineData: unknown, file: string): number | null {
  const config = isRecord(pipelineData) ? pipelineData.concurrency_config : undefined;
  if (config === undefined || config === null) return null;
  if (!isRecord(config)) throw invalidInput(`${file}: concurrency_config must be a mapping, e.g. { block_run_limit: 2 }`);
  const limit = config.block_run_limit;
  if (limit === undefined || limit === null) return null;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw invalidInput(`${file}: concurrency_config.block_run_limit must be a whole number >= 1`);
  return limit;
}

async function readProjectYaml(projectDir: string): Promise<unknown> {
  try {
    return parseYaml(await fs.readFile(path.join(projectDir, 'metadata.yaml'), 'utf8'));
  } catch {
    // A project without a readable metadata.yaml has no project-wide retry_config.
    return null;
  }
}

/**
 * Loads a pipeline with the run settings of every level (project metadata.yaml, the pipeline's,
 * each block's), the same for every host. Errors: not found (no such pipeline), invalid input (a
 * malformed retry_config or timeout, naming the file, block and field).
 */
export async function loadRunSettings(projectDir: string, pipelineUuid: string): Promise<RunSettings> {
  // Both files at once: a worker does this between a run's claim and its first block.
  const projectYaml = readProjectYaml(projectDir);
  const loaded = await loadPipeline(projectDir, pipelineUuid);
  const file = `pipelines/${pipelineUuid}/metadata.yaml`;
  const data: unknown = parseYaml(loaded.text);
  try {
    const blockConfigs = blockRunConfigs(await projectYaml, data, file);
    let queues: PipelineQueues;
    try {
      queues = parsePipelineQueues(data, file);
    } catch (e) {
      throw invalidInput(e instanceof Error ? e.message : String(e));
    }
    return { pipeline: loaded.pipeline, metadataText: loaded.text, blockConfigs, blockRunLimit: parseBlockRunLimit(data, file), queues };
  } catch (e) {
    if (e instanceof RetryConfigError) throw invalidInput(e.message);
    throw e;
  }
}
