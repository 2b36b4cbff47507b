/**
 * HTTP answers of the disk page: `GET /api/disk` (what each project and pipeline holds, the
 * retention settings in force and what they would free now) and `POST /api/disk/sweep` (what a
 * sweep freed). Sizes are bytes: apparent sizes of files, and `octet_length` of log text in
 * Postgres (row overhead is not counted). The server builds these; the browser parses them.
 */
import { z } from 'zod';

const bytes = z.number().int().nonnegative();
const whole = z.number().int().nonnegative();

/** Some things and their bytes: `items` are runs, run output folders or log lines (see `freedSchema`). */
export const amountSchema = z.object({ items: whole, bytes });
export type Amount = z.infer<typeof amountSchema>;

/**
 * What each retention setting frees, in the order a sweep applies them, so none is counted twice:
 * `runs` (items: runs; bytes: their output folders and log text), then `variables` (items: output
 * folders of the runs left), then `logs` (items: log lines of the runs left).
 */
export const freedSchema = z.object({ runs: amountSchema, variables: amountSchema, logs: amountSchema });
export type Freed = z.infer<typeof freedSchema>;

/** A setting in force as written ('90d') and in milliseconds; null: kept forever (Mage's default). */
const periodSchema = z.object({ text: z.string(), ms: whole }).nullable();
export const retentionSettingsSchema = z.object({
  variables_retention_period: periodSchema,
  logs_retention_period: periodSchema,
  runs_retention_period: periodSchema,
});

/**
 * A Parquet destination a block of the pipeline declares: `project` (measured), `outside` (a path
 * leaving the project: not measured) or `object_storage` (s3://: not measured). Never swept.
 */
export const lakePlaceSchema = z.object({
  block: z.string(),
  path: z.string(),
  where: z.enum(['project', 'outside', 'object_storage']),
  bytes: bytes.nullable(),
  files: whole.nullable(),
});

export const pipelineDiskSchema = z.object({
  pipeline: z.string(),
  /** False for a pipeline whose folder is gone but whose runs are still in the store. */
  onDisk: z.boolean(),
  runs: whole,
  /** Output folders of worker runs (`.grimoire/runs/<run id>`): runs that failed or were cancelled keep theirs for a retry. */
  outputs: z.object({ folders: whole, bytes, files: whole }),
  logs: z.object({ lines: whole, bytes }),
  /** The editor's output cache (per user) and configuration.cache entries: kept, never swept (a kernel may be reading them). */
  caches: z.object({ editor: bytes, block: bytes }),
  lake: z.array(lakePlaceSchema),
  /** Why the destinations could not be read (a metadata.yaml that does not parse), or null. */
  lakeError: z.string().nullable(),
  wouldFree: freedSchema,
});
export type PipelineDisk = z.infer<typeof pipelineDiskSchema>;

export const totalsSchema = z.object({ outputs: bytes, logs: bytes, caches: bytes, lake: bytes, wouldFree: freedSchema });
export type DiskTotals = z.infer<typeof totalsSchema>;

export const projectDiskSchema = z.object({
  project: z.string(),
  /** False for a project whose folder is gone: its runs and logs stay (no settings can be read). */
  onDisk: z.boolean(),
  /** The settings in force; null when they could not be read (see `settingsErrors`): nothing is swept then. */
  settings: retentionSettingsSchema.nullable(),
  settingsErrors: z.array(z.string()),
  pipelines: z.array(pipelineDiskSchema),
  /** Run output folders whose run is not in the store: shown, never swept. */
  unknownOutputs: z.object({ folders: whole, bytes }),
  /** Each lake folder counted once, though two pipelines may write it. */
  totals: totalsSchema,
});
export type ProjectDisk = z.infer<typeof projectDiskSchema>;

export const diskAnswerSchema = z.object({
  at: z.string(),
  /** How often the scheduler's servers sweep (ms); null when this process does not. */
  sweepEveryMs: whole.nullable(),
  projects: z.array(projectDiskSchema),
  totals: totalsSchema,
});
export type DiskAnswer = z.infer<typeof diskAnswerSchema>;

/** The body of `POST /api/disk/sweep`: `{}`. */
export const sweepRequestSchema = z.object({}).strict();

export const projectSweepSchema = z.object({
  project: z.string(),
  /** Why the project was not swept (wrong settings), or empty. */
  errors: z.array(z.string()),
  pipelines: z.array(z.object({ pipeline: z.string(), freed: freedSchema })),
  freed: freedSchema,
});
export type ProjectSweep = z.infer<typeof projectSweepSchema>;

export const sweepAnswerSchema = z.object({
  /** False when another server held the sweep lock: it sweeps, this one did nothing. */
  swept: z.boolean(),
  reason: z.string().nullable(),
  at: z.string(),
  projects: z.array(projectSweepSchema),
  freed: freedSchema,
});
export type SweepAnswer = z.infer<typeof sweepAnswerSchema>;

/** Nothing freed. */
export function noneFreed(): Freed {
  return { runs: { items: 0, bytes: 0 }, variables: { items: 0, bytes: 0 }, logs: { items: 0, bytes: 0 } };
}

/** The sum of two figures of what was (or would be) freed. */
export function addFreed(a: Freed, b: Freed): Freed {
  const add = (x: Amount, y: Amount): Amount => ({ items: x.items + y.items, bytes: x.bytes + y.bytes });
  return { runs: add(a.runs, b.runs), variables: add(a.variables, b.variables), logs: add(a.logs, b.logs) };
}
