/**
 * Mage's retry_config (retries, delay, max_delay, exponential_backoff) at project, pipeline and
 * block level, and the block timeout, read from the raw metadata.yaml data. Pure.
 */
export interface RetryConfig {
  retries: number;
  /** Seconds before the first retry. */
  delay: number;
  /** Seconds, the longest wait between attempts. */
  max_delay: number;
  exponential_backoff: boolean;
}

export const DEFAULT_RETRY: RetryConfig = { retries: 0, delay: 5, max_delay: 60, exponential_backoff: true };

export class RetryConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryConfigError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The fields a level sets; a wrong type is an error naming the level and field. */
export function parseRetryConfig(raw: unknown, where: string): Partial<RetryConfig> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw new RetryConfigError(`${where}: retry_config must be a mapping`);
  const out: Partial<RetryConfig> = {};
  for (const key of ['retries', 'delay', 'max_delay'] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || v < 0 || (key === 'retries' && !Number.isInteger(v))) throw new RetryConfigError(`${where}: retry_config.${key} must be a ${key === 'retries' ? 'whole ' : ''}number >= 0`);
    out[key] = v;
  }
  if (raw.exponential_backoff !== undefined && raw.exponential_backoff !== null) {
    if (typeof raw.exponential_backoff !== 'boolean') throw new RetryConfigError(`${where}: retry_config.exponential_backoff must be true or false`);
    out.exponential_backoff = raw.exponential_backoff;
  }
  return out;
}

/** Block settings win over the pipeline's, which win over the project's, field by field. */
export function mergeRetry(...levels: Partial<RetryConfig>[]): RetryConfig {
  return Object.assign({ ...DEFAULT_RETRY }, ...levels);
}

/** The wait after failed attempt `attempt` (1-based) before the next one, in ms. */
export function retryDelayMs(config: RetryConfig, attempt: number): number {
  const base = config.exponential_backoff ? config.delay * 2 ** Math.max(0, attempt - 1) : config.delay;
  return Math.round(Math.min(base, config.max_delay) * 1000);
}

export interface BlockRunConfig {
  retry: RetryConfig;
  /** Seconds, or null for no limit. */
  timeout: number | null;
}

/** Per block: retry_config and timeout from the project, pipeline and block entries of the YAML data. */
export function blockRunConfigs(projectData: unknown, pipelineData: unknown, file: string): Map<string, BlockRunConfig> {
  const project = parseRetryConfig(isRecord(projectData) ? projectData.retry_config : undefined, 'metadata.yaml');
  const pipeline = parseRetryConfig(isRecord(pipelineData) ? pipelineData.retry_config : undefined, file);
  const out = new Map<string, BlockRunConfig>();
  const blocks = isRecord(pipelineData) && Array.isArray(pipelineData.blocks) ? pipelineData.blocks : [];
  for (const b of blocks) {
    if (!isRecord(b) || typeof b.uuid !== 'string') continue;
    const where = `${file} (block ${b.uuid})`;
    const retry = mergeRetry(project, pipeline, parseRetryConfig(b.retry_config, where));
    let timeout: number | null = null;
    if (b.timeout !== undefined && b.timeout !== null) {
      if (typeof b.timeout !== 'number' || b.timeout <= 0) throw new RetryConfigError(`${where}: timeout must be a positive number of seconds`);
      timeout = b.timeout;
    }
    out.set(b.uuid, { retry, timeout });
  }
  return out;
}
