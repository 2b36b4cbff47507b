
/** The queue of runs and blocks that name none, which every worker serves unless told otherwise. */
export const DEFAULT_QUEUE = 'default';
/** A queue's name as executor_config.queue and `grimoire worker --queue` take it. */
export const QUEUE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Where each block of a pipeline runs: the queue of the workers that may run it. */
export interface PipelineQueues {
  /** The pipeline's executor_config.queue, else DEFAULT_QUEUE. */
  pipeline: string;
  /** Blocks with an executor_config.queue of their own, by uuid. */
  blocks: Map<string, string>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why `name` is not a queue name, or null when it is one. */
export function queueNameProblem(name: string): string | null {
  return QUEUE_NAME_PATTERN.test(name) ? null : `"${name}" is not a queue name: lower-case letters, digits, _ and -, starting with a letter or digit, at most 63`;
}

/** executor_config.queue of one level (`where` names it in errors); undefined when not set. Throws Error naming the field. */
function queueIn(config: unknown, where: string): string | undefined {
  if (config === undefined || config === null) return undefined;
  if (!isRecord(config)) throw new Error(`${where}: executor_config must be a mapping, e.g. { queue: heavy }`);
  const queue = config.queue;
  if (queue === undefined || queue === null) return undefined;
  if (typeof queue !== 'string') throw new Error(`${where}: executor_config.queue must be a queue name, e.g. heavy`);
  const problem = queueNameProblem(queue);
  if (problem) throw new Error(`${where}: executor_config.queue ${problem}`);
  return queue;
}

/**
 * Mage's `executor_config` of a pipeline's metadata.yaml data (already parsed YAML), at the
 * pipeline and on each block entry; Grimoire reads its `queue` (other keys are Mage's executor
 * settings and are left alone). Throws Error naming the file, block and field when a value is wrong.
 */
export function parsePipelineQueues(pipelineData: unknown, file: string): PipelineQueues {
  const data = isRecord(pipelineData) ? pipelineData : {};
  const pipeline = queueIn(data.executor_config, file) ?? DEFAULT_QUEUE;
  const blocks = new Map<string, string>();
  const entries = data.blocks;
  if (Array.isArray(entries)) {
    for (const entry of entries) {
      if (!isRecord(entry) || typeof entry.uuid !== 'string') continue;
      const queue = queueIn(entry.executor_config, `${file}: block ${entry.uuid}`);
      if (queue !== undefined) blocks.set(entry.uuid, queue);
    }
  }
  return { pipeline, blocks };
}

/** The queue a block runs on. */
export function queueOfBlock(queues: PipelineQueues, block: string): string {
  return queues.blocks.get(block) ?? queues.pipeline;
}
