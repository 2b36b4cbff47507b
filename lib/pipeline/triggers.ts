import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap } from 'yaml';
import { dateTimeFormat } from '../intl-format';
import { type PipelineIssue, type Parsed } from './issues';
import { IDENTIFIER_PATTERN, type JsonObject, type JsonValue } from './model';

/**
 * triggers.yaml (Mage's format, CONTRACTS.md): a list under `triggers:`. Parsing is pure; edits go
 * through the YAML Document API so comments, key order and keys we do not know survive every save,
 * and an edit writes only the fields it was asked to change (pausing never resets other settings).
 */

export const SCHEDULE_TYPES = ['time', 'api'] as const;
export type ScheduleType = (typeof SCHEDULE_TYPES)[number];
export const TRIGGER_STATUSES = ['active', 'inactive'] as const;
export type TriggerStatus = (typeof TRIGGER_STATUSES)[number];
/** What a time trigger does about executions it missed (server down, trigger paused): chosen per trigger. */
export const CATCH_UP_POLICIES = ['none', 'latest', 'all'] as const;
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];
export const SCHEDULE_PRESETS = ['@once', '@hourly', '@daily', '@weekly', '@monthly'] as const;

export interface TriggerSettings {
  skip_if_previous_running: boolean;
  /** Absent in a Mage file: then `latest` (a missed execution runs once, no flood); the UI always asks. */
  catch_up: CatchUpPolicy;
  /** At most this many runs of the trigger at once; more wait (status initial). */
  run_limit: number | null;
  /** Whole-run timeout in seconds. */
  timeout: number | null;
  /**
   * Mage's key: whether the execution already due when the trigger appears runs (true) or not
   * (false: the first run is the first execution after that). Null when absent: catch_up decides.
   */
  create_initial_pipeline_run: boolean | null;
}

export interface Trigger {
  name: string;
  schedule_type: ScheduleType;
  /** @once @hourly @daily @weekly @monthly or a 5/6-field cron string; null for api triggers. */
  schedule_interval: string | null;
  /** ISO instant (the file's `2024-01-01 05:00:00` is read in the trigger's timezone). */
  start_time: string | null;
  /** IANA zone for cron fields and start_time; UTC by default (Mage). */
  timezone: string;
  status: TriggerStatus;
  variables: JsonObject;
  settings: TriggerSettings;
  /** Mage's `sla`, seconds after the execution date by which a run should have completed. */
  sla: number | null;
  /**
   * Keys of the file Grimoire does not act on (Mage's `settings.allow_blocks_to_fail`,
   * `landing_time_enabled`, ...), as `key` or `settings.key`: shown with the trigger, never dropped
   * silently. Not stored: read from the file each time.
   */
  ignored_keys: string[];
}

/** The keys of a trigger Grimoire acts on; any other key of the file is reported (ignored_keys). */
const TRIGGER_KEYS = new Set(['name', 'schedule_type', 'schedule_interval', 'start_time', 'timezone', 'status', 'variables', 'settings', 'sla']);
/** Runtime variables each run sets from its execution date (lib/engine/runtime-variables.ts). */
const EXECUTION_DATE_VARIABLES = new Set(['execution_date', 'ds', 'hr']);
const SETTINGS_KEYS = new Set(['skip_if_previous_running', 'catch_up', 'run_limit', 'timeout', 'create_initial_pipeline_run']);

/** A key whose value changes nothing (Mage writes `envs: []`: no restriction) is not worth a warning. */
function isEmptyValue(v: unknown): boolean {
  return v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (isRecord(v) && Object.keys(v).length === 0);
}

export const DEFAULT_SETTINGS: TriggerSettings = { skip_if_previous_running: false, catch_up: 'latest', run_limit: null, timeout: null, create_initial_pipeline_run: null };

const FILE = 'triggers.yaml';

function isJsonValue(v: unknown): v is JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return true;
  if (Array.isArray(v)) return v.every(isJsonValue);
  if (typeof v === 'object') return Object.values(v).every(isJsonValue);
  return false;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isJsonObject(v: unknown): v is JsonObject {
  return isRecord(v) && Object.values(v).every(isJsonValue);
}

/** Is `zone` a time zone this runtime knows? */
export function isValidTimeZone(zone: string): boolean {
  try {
    dateTimeFormat({ timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock `YYYY-MM-DD[ T]HH:MM[:SS]` in `zone` to an instant; an ISO string with an offset is taken as is. */
export function parseStartTime(text: string, zone: string): Date | null {
  if (/[zZ]$|[+-]\d\d:?\d\d$/.test(text.trim())) {
    const d = new Date(text.trim());
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(asUtc)) return null;
  // The zone's offset at that wall time; applied twice so an instant near a DST change settles.
  let guess = asUtc;
  for (let i = 0; i < 2; i++) guess = asUtc - zoneOffsetMs(new Date(guess), zone);
  return new Date(guess);
}

/** Offset of `zone` from UTC at instant `at`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(at: Date, zone: string): number {
  const parts = dateTimeFormat({
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

/** Checks a cron or preset without running it; returns an error message or null. Pure (no IO). */
export type CronCheck = (interval: string, zone: string) => string | null;

function toTrigger(raw: unknown, index: number, checkCron: CronCheck, issues: PipelineIssue[], file: string): Trigger | null {
  const at = (message: string, name?: string) => issues.push({ file, message: `trigger ${name ? `"${name}"` : `#${index + 1}`}: ${message}` });
  if (!isRecord(raw)) {
    at('each trigger must be a mapping with name, schedule_type, ...');
    return null;
  }
  const name = raw.name;
  if (typeof name !== 'string' || !IDENTIFIER_PATTERN.test(name)) {
    at(`name must be letters, digits and _ (not starting with a digit), got ${JSON.stringify(name ?? null)}`);
    return null;
  }
  const before = issues.length;
  const scheduleType = raw.schedule_type ?? 'time';
  if (scheduleType !== 'time' && scheduleType !== 'api') at(`schedule_type must be time or api, got ${JSON.stringify(scheduleType)}`, name);
  const status = raw.status ?? 'active';
  if (status !== 'active' && status !== 'inactive') at(`status must be active or inactive, got ${JSON.stringify(status)}`, name);
  const zone = raw.timezone ?? 'UTC';
  if (typeof zone !== 'string' || !isValidTimeZone(zone)) at(`timezone ${JSON.stringify(zone)} is not a known time zone (e.g. UTC, Europe/Berlin)`, name);
  const zoneOk = typeof zone === 'string' && isValidTimeZone(zone) ? zone : 'UTC';
  let interval: string | null = null;
  if (raw.schedule_interval !== undefined && raw.schedule_interval !== null) {
    if (typeof raw.schedule_interval !== 'string') at('schedule_interval must be a string such as "@daily" or "0 5 * * *"', name);
    else interval = raw.schedule_interval.trim();
  }
  if (scheduleType === 'time') {
    if (interval === null) at('a time trigger needs schedule_interval (@once, @hourly, @daily, @weekly, @monthly or a cron string)', name);
    else {
      const problem = checkCron(interval, zoneOk);
      if (problem) at(`schedule_interval "${interval}": ${problem}`, name);
    }
  }
  let startTime: string | null = null;
  if (raw.start_time !== undefined && raw.start_time !== null) {
    const text = raw.start_time instanceof Date ? raw.start_time.toISOString() : String(raw.start_time);
    const parsed = parseStartTime(text, zoneOk);
    if (!parsed) at(`start_time "${text}" is not a date and time like 2024-01-01 05:00:00`, name);
    else startTime = parsed.toISOString();
  }
  if (interval === '@once' && startTime === null && scheduleType === 'time') at('an @once trigger needs start_time', name);
  let variables: JsonObject = {};
  if (raw.variables !== undefined && raw.variables !== null) {
    if (!isJsonObject(raw.variables)) at('variables must be a mapping', name);
    else variables = { ...raw.variables };
  }
  const settings: TriggerSettings = { ...DEFAULT_SETTINGS };
  if (raw.settings !== undefined && raw.settings !== null) {
    if (!isRecord(raw.settings)) at('settings must be a mapping', name);
    else {
      const s = raw.settings;
      // A key set to null (as Mage writes an unset one) means its default, like an absent key.
      if (s.skip_if_previous_running !== undefined && s.skip_if_previous_running !== null) {
        if (typeof s.skip_if_previous_running !== 'boolean') at('settings.skip_if_previous_running must be true or false', name);
        else settings.skip_if_previous_running = s.skip_if_previous_running;
      }
      if (s.catch_up !== undefined && s.catch_up !== null) {
        const policy = CATCH_UP_POLICIES.find((p) => p === s.catch_up);
        if (!policy) at(`settings.catch_up must be none, latest or all, got ${JSON.stringify(s.catch_up)}`, name);
        else settings.catch_up = policy;
      }
      if (s.create_initial_pipeline_run !== undefined && s.create_initial_pipeline_run !== null) {
        if (typeof s.create_initial_pipeline_run !== 'boolean') at('settings.create_initial_pipeline_run must be true or false', name);
        else settings.create_initial_pipeline_run = s.create_initial_pipeline_run;
      }
      for (const key of ['run_limit', 'timeout'] as const) {
        const v = s[key];
        if (v === undefined || v === null) continue;
        if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) at(`settings.${key} must be a positive whole number`, name);
        else settings[key] = v;
      }
    }
  }
  let sla: number | null = null;
  if (raw.sla !== undefined && raw.sla !== null) {
    if (typeof raw.sla !== 'number' || raw.sla <= 0) at('sla must be a positive number of seconds', name);
    else sla = raw.sla;
  }
  if (issues.length > before) return null;
  // An API trigger has no schedule: its schedule keys and the settings about missed executions do nothing.
  const apiOnlyIgnores = new Set(['schedule_interval', 'start_time', 'settings.catch_up', 'settings.create_initial_pipeline_run']);
  const ignored = [
    ...Object.entries(raw).filter(([k, v]) => !TRIGGER_KEYS.has(k) && !isEmptyValue(v)).map(([k]) => k),
    ...(isRecord(raw.settings) ? Object.entries(raw.settings).filter(([k, v]) => !SETTINGS_KEYS.has(k) && !isEmptyValue(v)).map(([k]) => `settings.${k}`) : []),
    ...(scheduleType === 'api'
      ? [...Object.entries(raw).map(([k, v]) => [k, v] as const), ...(isRecord(raw.settings) ? Object.entries(raw.settings).map(([k, v]) => [`settings.${k}`, v] as const) : [])]
          .filter(([k, v]) => apiOnlyIgnores.has(k) && !isEmptyValue(v))
          .map(([k]) => k)
      : // A scheduled run's execution date is its slot: variables naming it are replaced in every run.
        Object.keys(variables)
          .filter((k) => EXECUTION_DATE_VARIABLES.has(k))
          .map((k) => `variables.${k}`)),
  ];
  return {
    name,
    schedule_type: scheduleType === 'api' ? 'api' : 'time',
    schedule_interval: interval,
    start_time: startTime,
    timezone: zoneOk,
    status: status === 'inactive' ? 'inactive' : 'active',
    variables,
    settings,
    sla,
    ignored_keys: ignored,
  };
}

/**
 * Parses and validates a triggers.yaml text. Every problem is reported (with the file name), and a
 * file with problems yields no triggers at all, so a typo never silently drops or changes a schedule.
 */
export function parseTriggers(text: string, checkCron: CronCheck, file = FILE): Parsed<Trigger[]> {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    return { ok: false, issues: doc.errors.map((e) => ({ file, line: e.linePos?.[0]?.line, message: `malformed YAML: ${e.message.split('\n')[0]}` })) };
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return { ok: true, value: [] };
  if (!isRecord(data)) return { ok: false, issues: [{ file, message: 'the file must be a mapping with a `triggers:` list' }] };
  const list = data.triggers ?? [];
  if (list === null) return { ok: true, value: [] };
  if (!Array.isArray(list)) return { ok: false, issues: [{ file, message: '`triggers` must be a list' }] };
  const issues: PipelineIssue[] = [];
  const triggers: Trigger[] = [];
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const name = isRecord(raw) ? raw.name : undefined;
    if (typeof name === 'string') {
      if (seen.has(name)) issues.push({ file, message: `trigger "${name}": the name is used twice` });
      seen.add(name);
    }
    const t = toTrigger(raw, i, checkCron, issues, file);
    if (t) triggers.push(t);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: triggers };
}

/** Fields an edit may set; absent fields are left exactly as they are in the file. */
export interface TriggerPatch {
  schedule_type?: ScheduleType;
  schedule_interval?: string | null;
  start_time?: string | null;
  timezone?: string;
  status?: TriggerStatus;
  variables?: JsonObject;
  settings?: Partial<TriggerSettings>;
  sla?: number | null;
}

function triggerSeq(doc: Document) {
  let seq = doc.get('triggers', true);
  if (seq === undefined || seq === null || (isScalarNull(seq))) {
    doc.set('triggers', doc.createNode([]));
    seq = doc.get('triggers', true);
  }
  if (!isSeq(seq)) throw new Error('triggers.yaml: `triggers` is not a list');
  return seq;
}

function isScalarNull(node: unknown): boolean {
  return isRecord(node) && 'value' in node && node.value === null && !isMap(node) && !isSeq(node);
}

function findTrigger(doc: Document, name: string): YAMLMap | null {
  const seq = triggerSeq(doc);
  for (const item of seq.items) if (isMap(item) && item.get('name') === name) return item;
  return null;
}

/** Sets one key; a scalar keeps its node (and so its comment), null removes the key, undefined leaves it. */
function setKey(doc: Document, node: YAMLMap, key: string, value: JsonValue | undefined): void {
  if (value === undefined) return;
  if (value === null) {
    node.delete(key);
    return;
  }
  const existing = node.get(key, true);
  if (isScalar(existing) && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) existing.value = value;
  else node.set(key, doc.createNode(value));
}

function applyPatch(doc: Document, node: YAMLMap, patch: TriggerPatch): void {
  setKey(doc, node, 'schedule_type', patch.schedule_type);
  setKey(doc, node, 'schedule_interval', patch.schedule_interval);
  setKey(doc, node, 'start_time', patch.start_time);
  setKey(doc, node, 'timezone', patch.timezone);
  setKey(doc, node, 'status', patch.status);
  setKey(doc, node, 'sla', patch.sla);
  if (patch.variables !== undefined) node.set('variables', doc.createNode(patch.variables));
  if (patch.settings !== undefined) {
    let settings = node.get('settings', true);
    if (!isMap(settings)) {
      node.set('settings', doc.createNode({}));
      settings = node.get('settings', true);
    }
    if (!isMap(settings)) throw new Error('settings is not a mapping');
    for (const [key, value] of Object.entries(patch.settings)) setKey(doc, settings, key, value);
  }
}

function load(text: string): Document {
  const doc = parseDocument(text.trim() === '' ? 'triggers: []\n' : text);
  if (doc.errors.length > 0) throw new Error(`triggers.yaml is not valid YAML (${doc.errors[0]?.message.split('\n')[0]}); fix the file first, it was not changed`);
  return doc;
}

/** Adds a trigger (its name must be new). Returns the new file text. */
export function addTrigger(text: string, name: string, patch: TriggerPatch): string {
  const doc = load(text);
  if (findTrigger(doc, name)) throw new Error(`a trigger named "${name}" already exists`);
  const node = doc.createNode({ name });
  applyPatch(doc, node, patch);
  const seq = triggerSeq(doc);
  // An empty list is written `[]`; once it has a trigger it is Mage's block style, not one flow line.
  if (seq.items.length === 0) seq.flow = false;
  seq.items.push(node);
  return doc.toString();
}

/** Changes only the given fields of one trigger. Returns the new file text. */
export function patchTrigger(text: string, name: string, patch: TriggerPatch): string {
  const doc = load(text);
  const node = findTrigger(doc, name);
  if (!node) throw new Error(`trigger "${name}" is not in triggers.yaml`);
  applyPatch(doc, node, patch);
  return doc.toString();
}

export function removeTrigger(text: string, name: string): string {
  const doc = load(text);
  const seq = triggerSeq(doc);
  const index = seq.items.findIndex((item) => isMap(item) && item.get('name') === name);
  if (index < 0) throw new Error(`trigger "${name}" is not in triggers.yaml`);
  seq.items.splice(index, 1);
  return doc.toString();
}
