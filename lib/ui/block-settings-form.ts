/**
 * The block settings panel's form as plain data: read from a block as metadata.yaml has it, and
 * turned back into editor edits, with every field's problem named before anything is sent.
 */
import { isObjectUrl, parseLakeUrl, unsupportedScheme } from '../io/object-path';
import { z } from 'zod';
import { IDENTIFIER_PATTERN, TYPE_LANGUAGES, type BlockLanguage, type BlockType, type JsonObject } from '../pipeline/model';
import { type EditorBlock, type EditorEditInput, type RetryConfigInput } from '../protocol/editor-api';
import { BLOCK_LANGUAGE_LABELS, BLOCK_TYPE_LABELS } from './block-labels';
import { settingsOf } from './block-kinds';

export const WRITE_POLICIES = ['replace', 'append', 'fail'] as const;
export const COMPRESSIONS = ['', 'zstd', 'snappy', 'gzip', 'uncompressed'] as const;

export interface SettingsForm {
  name: string;
  type: BlockType;
  language: BlockLanguage;
  upstream: string[];
  retries: string;
  delay: string;
  maxDelay: string;
  /** '' leaves it to the pipeline's or project's retry_config. */
  backoff: '' | 'true' | 'false';
  timeout: string;
  destination: '' | 'postgres' | 'parquet';
  profile: string;
  schema: string;
  table: string;
  writePolicy: (typeof WRITE_POLICIES)[number];
  uniqueConstraints: string;
  path: string;
  partitionBy: string;
  compression: (typeof COMPRESSIONS)[number];
  /** configuration.dynamic: each row of the output fans out to the downstream blocks. */
  dynamic: boolean;
  /** configuration.reduce_output: the children's outputs reach the downstream blocks as one. */
  reduceOutput: boolean;
  /** A sensor's configuration.poke_interval and configuration.timeout, in seconds; '' is unset. */
  pokeInterval: string;
  sensorTimeout: string;
}

const looseDestination = z.looseObject({
  type: z.unknown().optional(),
  profile: z.unknown().optional(),
  schema: z.unknown().optional(),
  table: z.unknown().optional(),
  write_policy: z.unknown().optional(),
  unique_constraints: z.unknown().optional(),
  path: z.unknown().optional(),
  partition_by: z.unknown().optional(),
  compression: z.unknown().optional(),
});

const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : '');
const oneOf = <T extends string>(options: readonly T[], v: unknown, fallback: T): T => options.find((o) => o === v) ?? fallback;

/** The form as the block's entry in metadata.yaml has it now. */
export function formFromBlock(block: EditorBlock): SettingsForm {
  const retry = block.retry_config ?? {};
  const dest = looseDestination.safeParse(block.configuration.destination);
  const d = dest.success ? dest.data : {};
  return {
    name: block.uuid,
    type: block.type,
    language: block.language,
    upstream: [...block.upstream],
    retries: text(retry.retries),
    delay: text(retry.delay),
    maxDelay: text(retry.max_delay),
    backoff: retry.exponential_backoff === true ? 'true' : retry.exponential_backoff === false ? 'false' : '',
    timeout: text(block.timeout),
    destination: d.type === 'postgres' || d.type === 'parquet' ? d.type : '',
    profile: text(d.profile),
    schema: text(d.schema),
    table: text(d.table),
    writePolicy: oneOf(WRITE_POLICIES, d.write_policy, 'replace'),
    uniqueConstraints: list(d.unique_constraints),
    path: text(d.path),
    partitionBy: list(d.partition_by),
    compression: oneOf(COMPRESSIONS, d.compression, ''),
    dynamic: block.configuration.dynamic === true,
    reduceOutput: block.configuration.reduce_output === true,
    pokeInterval: text(block.configuration.poke_interval),
    sensorTimeout: text(block.configuration.timeout),
  };
}

/** The form with another block type: the language follows when the type is not written in it (markdown). */
export function withType(form: SettingsForm, type: BlockType): SettingsForm {
  const allowed = TYPE_LANGUAGES[type];
  return { ...form, type, language: allowed.includes(form.language) ? form.language : (allowed[0] ?? form.language) };
}

const names = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * The edits that make the block look like the form, in an order the server applies safely (the
 * rename last, so the edits before it name the block as it is). Problems come back per field.
 */
export function editsFromForm(block: EditorBlock, form: SettingsForm): { edits: EditorEditInput[]; errors: Partial<Record<keyof SettingsForm, string>> } {
  const errors: Partial<Record<keyof SettingsForm, string>> = {};
  const number = (field: keyof SettingsForm, raw: string, label: string, opts: { int?: boolean; positive?: boolean } = {}): number | undefined => {
    if (raw.trim() === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) errors[field] = `${label} must be a number`;
    else if (opts.int && !Number.isInteger(n)) errors[field] = `${label} must be a whole number`;
    else if (opts.positive ? n <= 0 : n < 0) errors[field] = `${label} must be ${opts.positive ? 'more than 0' : '0 or more'}`;
    else return n;
    return undefined;
  };
  const name = form.name.trim();
  if (!IDENTIFIER_PATTERN.test(name)) errors.name = 'Name: letters, digits and _, not starting with a digit';

  const retry: RetryConfigInput = {};
  const retries = number('retries', form.retries, 'Retries', { int: true });
  const delay = number('delay', form.delay, 'Delay');
  const maxDelay = number('maxDelay', form.maxDelay, 'Max delay');
  if (retries !== undefined) retry.retries = retries;
  if (delay !== undefined) retry.delay = delay;
  if (maxDelay !== undefined) retry.max_delay = maxDelay;
  if (form.backoff !== '') retry.exponential_backoff = form.backoff === 'true';
  const timeout = number('timeout', form.timeout, 'Timeout', { positive: true });
  if (!TYPE_LANGUAGES[form.type].includes(form.language)) {
    errors.language = `A ${BLOCK_TYPE_LABELS[form.type].toLowerCase()} block is written in ${TYPE_LANGUAGES[form.type].map((l) => BLOCK_LANGUAGE_LABELS[l]).join(' or ')}`;
  }
  const kind = settingsOf(form.type);
  const pokeInterval = kind.sensor ? number('pokeInterval', form.pokeInterval, 'Poke interval', { positive: true }) : undefined;
  const sensorTimeout = kind.sensor ? number('sensorTimeout', form.sensorTimeout, 'Sensor timeout', { positive: true }) : undefined;

  let destination: JsonObject | null = null;
  if (form.destination === 'postgres') {
    if (!form.table.trim()) errors.table = 'Table is required for a Postgres destination';
    destination = { type: 'postgres', profile: form.profile.trim() || 'default', table: form.table.trim(), write_policy: form.writePolicy };
    if (form.schema.trim()) destination.schema = form.schema.trim();
    if (names(form.uniqueConstraints).length > 0) destination.unique_constraints = names(form.uniqueConstraints);
  } else if (form.destination === 'parquet') {
    const place = form.path.trim();
    if (!place) errors.path = 'Path is required for a Parquet destination';
    const refused = unsupportedScheme(place, false);
    if (refused) errors.path = refused;
    else if (isObjectUrl(place)) {
      try {
        parseLakeUrl(place);
      } catch (e) {
        errors.path = e instanceof Error ? e.message : String(e);
      }
    }
    destination = { type: 'parquet', path: place, write_policy: form.writePolicy };
    // The profile's AWS_* keys write a lake in a bucket; a local folder needs none.
    if (isObjectUrl(place) && form.profile.trim()) destination.profile = form.profile.trim();
    if (names(form.partitionBy).length > 0) destination.partition_by = names(form.partitionBy);
    if (form.compression) destination.compression = form.compression;
  }

  // Configuration keys are sent only when they change, so a save never rewrites what the form did not touch.
  const configuration: { dynamic?: boolean; reduce_output?: boolean; poke_interval?: number | null; sensor_timeout?: number | null } = {};
  const current = formFromBlock(block);
  // A kind without fan-out (a sensor, markdown, a scratchpad) drops the flags: the form no longer shows them.
  const dynamic = kind.fanOut && form.dynamic;
  const reduce = kind.fanOut && form.reduceOutput;
  if (dynamic !== current.dynamic) configuration.dynamic = dynamic;
  if (reduce !== current.reduceOutput) configuration.reduce_output = reduce;
  if (kind.sensor && form.pokeInterval.trim() !== current.pokeInterval) configuration.poke_interval = pokeInterval ?? null;
  if (kind.sensor && form.sensorTimeout.trim() !== current.sensorTimeout) configuration.sensor_timeout = sensorTimeout ?? null;

  const edits: EditorEditInput[] = [];
  if (form.upstream.join(',') !== block.upstream.join(',')) edits.push({ kind: 'set_upstream', uuid: block.uuid, upstream: form.upstream });
  edits.push({ kind: 'set_block_settings', uuid: block.uuid, retry_config: Object.keys(retry).length > 0 ? retry : null, timeout: timeout ?? null, destination, ...configuration });
  if (form.type !== block.type || form.language !== block.language) edits.push({ kind: 'change_block_kind', uuid: block.uuid, type: form.type, language: form.language });
  if (name !== block.uuid) edits.push({ kind: 'rename_block', uuid: block.uuid, to: name });
  return { edits, errors };
}
