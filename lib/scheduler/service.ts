import { executionDateFrom } from '../engine/runtime-variables';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type z } from 'zod';
import { invalidInput, notFound, UserError } from '../errors';
import { type JsonObject, type JsonValue } from '../pipeline/model';
import { parseStartTime, type TriggerPatch } from '../pipeline/triggers';
import { type createBackfillSchema, type createTriggerSchema, type runListQuerySchema, type updateTriggerSchema } from '../protocol/runs-api';
import { listPipelines, projectDir } from '../project/load';
import { AccessStore } from '../access/access-store';
import { startedByLabel, userIdsOf } from '../runs/started-by';
import { type BackfillRow, type RunRow, type TriggerEventRow, type TriggerRow } from '../store/types';
import { backfillIntervals, BackfillError } from './backfill';
import { nextFireAfter, previousFireAtOrBefore } from './schedule';
import { scheduleOf } from './scheduler';
import { orchestration, type Orchestration } from './slot';
import { changeTrigger, syncPipelineTriggers } from './trigger-files';

/** The operations behind the triggers, runs and backfills pages and routes (thin handlers call these). */

export class UnauthorizedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

const conflict = (message: string) => new UserError('conflict', message);

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function tokenMatches(token: string, hash: string | null): boolean {
  if (!hash) return false;
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

async function checkPipeline(project: string, pipeline: string): Promise<string> {
  const dir = await projectDir(orchestration().projectsDir, project);
  if (!(await listPipelines(dir)).includes(pipeline)) throw notFound(`pipeline "${pipeline}" not found in project ${project}`);
  return dir;
}

// ---- triggers ------------------------------------------------------------------------------------

/** One trigger as the triggers page shows it: its definition, its next fire, why, and its recent decisions. */
export interface TriggerReport {
  id: string;
  name: string;
  schedule_type: 'time' | 'api';
  schedule_interval: string | null;
  start_time: string | null;
  timezone: string;
  status: 'active' | 'inactive';
  variables: JsonObject;
  settings: TriggerRow['settings'];
  sla: number | null;
  has_token: boolean;
  token_created_at: string | null;
  next_run_at: string | null;
  /** A time trigger with no execution left, whose last one was decided (an @once that ran). */
  done: boolean;
  explanation: string[];
  definition_error: string | null;
  recent_events: { at: string; execution_date: string | null; decision: string; message: string; run_id: string | null }[];
}

/**
 * Why the last expected execution did or did not start, and when the next one is: from the stored
 * trigger, its runs and the scheduler's recorded decisions.
 */
export function explainTrigger(t: TriggerRow, now: Date, runs: RunRow[], events: TriggerEventRow[]): { next: Date | null; lines: string[]; done: boolean } {
  const lines: string[] = [];
  if (t.definition_error) lines.push(`triggers.yaml has problems, so the last good definition is used:\n${t.definition_error}`);
  if (t.schedule_type === 'api') {
    lines.push(t.status === 'active' ? 'Runs when its URL is called with its token.' : 'Paused: API calls are refused until it is active again.');
    return { next: null, lines, done: false };
  }
  let schedule;
  try {
    schedule = scheduleOf(t);
  } catch (e) {
    lines.push(`Cannot be scheduled: ${e instanceof Error ? e.message : String(e)}`);
    return { next: null, lines, done: false };
  }
  const next = t.status === 'active' ? nextFireAfter(schedule, now) : null;
  if (t.status === 'inactive') lines.push(`Paused: nothing runs. When resumed, missed executions follow catch_up: ${t.settings.catch_up}.`);
  const expected = previousFireAtOrBefore(schedule, now);
  if (!expected) {
    lines.push(next ? `No execution was due yet; the first is ${next.toISOString()}.` : 'No execution is due, and none will be.');
    return { next, lines, done: false };
  }
  const when = expected.toISOString();
  const run = runs.find((r) => r.kind === 'scheduled' && r.execution_date.getTime() === expected.getTime());
  const event = events.find((e) => e.execution_date?.getTime() === expected.getTime() && e.decision !== 'fired');
  if (run) {
    lines.push(`The last expected execution (${when}) started: run ${run.id} was created ${run.created_at.getTime() - expected.getTime()} ms after it and is ${run.status}.`);
  } else if (event) {
    lines.push(`The last expected execution (${when}) did not start: ${event.message}.`);
  } else if (t.first_active_at && expected.getTime() < t.first_active_at.getTime() && t.cursor_execution_date === null) {
    lines.push(`The last expected execution (${when}) was before the trigger became active (${t.first_active_at.toISOString()}); catch_up: ${t.settings.catch_up}.`);
  } else if (t.status === 'inactive') {
    lines.push(`The last expected execution (${when}) did not start: the trigger is paused.`);
  } else if (t.cursor_execution_date && t.cursor_execution_date.getTime() >= expected.getTime()) {
    lines.push(`The last expected execution (${when}) was decided earlier without a run (see the events below).`);
  } else {
    lines.push(`The last expected execution (${when}) has not been reached by the scheduler yet (is the server running?).`);
  }
  if (next) lines.push(`Next run: ${next.toISOString()} (${t.timezone}).`);
  // A schedule with no fire time left whose last one was decided (an @once that ran): finished.
  const done = next === null && t.status === 'active' && (run !== undefined || (t.cursor_execution_date !== null && t.cursor_execution_date.getTime() >= expected.getTime()));
  if (done) lines.push('Done: this schedule has no execution left; it runs again only if its definition changes.');
  return { next, lines, done };
}

/** The pipeline's triggers, synced from triggers.yaml first; `file_error` when the file cannot be read. */
export async function listTriggerReports(project: string, pipeline: string): Promise<{ triggers: TriggerReport[]; file_error: string | null }> {
  const o = orchestration();
  const dir = await checkPipeline(project, pipeline);
  // The file is the definition: read it now, so a hand edit shows at once.
  const file = await syncPipelineTriggers(o.store, dir, project, pipeline, o.clock.now());
  const now = o.clock.now();
  const rows = await o.store.triggers.list({ project, pipeline });
  const views = await Promise.all(
    rows.map(async (t): Promise<TriggerReport> => {
      const [runs, events] = await Promise.all([o.store.runs.list({ triggerId: t.id, limit: 50 }), o.store.triggers.events(t.id, 20)]);
      const { next, lines, done } = explainTrigger(t, now, runs, events);
      const ignored = file.ok ? (file.triggers.find((f) => f.name === t.name)?.ignored_keys ?? []) : [];
      // Keys of a Mage file that Grimoire does not act on: said, so nobody believes they work.
      if (ignored.length > 0) lines.unshift(`triggers.yaml sets ${ignored.join(', ')}, which Grimoire does not act on (kept in the file).`);
      return {
        id: t.id,
        name: t.name,
        schedule_type: t.schedule_type,
        schedule_interval: t.schedule_interval,
        start_time: t.start_time?.toISOString() ?? null,
        timezone: t.timezone,
        status: t.status,
        variables: t.variables,
        settings: t.settings,
        sla: t.sla_seconds,
        has_token: t.token_hash !== null,
        token_created_at: t.token_created_at?.toISOString() ?? null,
        next_run_at: next?.toISOString() ?? null,
        done,
        explanation: lines,
        definition_error: t.definition_error,
        recent_events: events.map((e) => ({ at: e.at.toISOString(), execution_date: e.execution_date?.toISOString() ?? null, decision: e.decision, message: e.message, run_id: e.run_id })),
      };
    }),
  );
  return { triggers: views, file_error: file.ok ? null : file.message };
}

function toPatch(input: z.infer<typeof updateTriggerSchema>): TriggerPatch {
  const patch: TriggerPatch = {};
  if (input.schedule_type !== undefined) patch.schedule_type = input.schedule_type;
  if (input.schedule_interval !== undefined) patch.schedule_interval = input.schedule_interval;
  if (input.start_time !== undefined) {
    if (input.start_time !== null && !parseStartTime(input.start_time, input.timezone ?? 'UTC')) throw invalidInput(`start_time "${input.start_time}" is not a date and time like 2024-01-01 05:00:00`);
    patch.start_time = input.start_time === null ? null : input.start_time.replace('T', ' ').replace(/\.\d+Z?$|Z$/, '');
  }
  if (input.timezone !== undefined) patch.timezone = input.timezone;
  if (input.status !== undefined) patch.status = input.status;
  if (input.variables !== undefined) patch.variables = input.variables;
  if (input.settings !== undefined) patch.settings = input.settings;
  if (input.sla !== undefined) patch.sla = input.sla;
  return patch;
}

/**
 * Creates a trigger in triggers.yaml. An API trigger's token is made and returned this once (only
 * its hash is kept) when `mintToken` says the caller may hold one (owners: a token starts runs
 * without any sign-in); otherwise the trigger waits for an owner to make its token.
 */
export async function createTrigger(project: string, pipeline: string, input: z.infer<typeof createTriggerSchema>, mintToken: boolean): Promise<{ name: string; token: string | null }> {
  const o = orchestration();
  await checkPipeline(project, pipeline);
  const { name, ...fields } = input;
  await changeTrigger(o.store, o.projectsDir, project, pipeline, { kind: 'create', name, patch: { status: 'active', ...toPatch(fields) } }, o.clock.now());
  o.triggersChanged();
  const token = input.schedule_type === 'api' && mintToken ? await rotateToken(project, pipeline, name) : null;
  return { name, token };
}

export async function updateTrigger(project: string, pipeline: string, name: string, input: z.infer<typeof updateTriggerSchema>): Promise<{ name: string }> {
  const o = orchestration();
  await checkPipeline(project, pipeline);
  await changeTrigger(o.store, o.projectsDir, project, pipeline, { kind: 'update', name, patch: toPatch(input) }, o.clock.now());
  o.triggersChanged();
  return { name };
}

export async function deleteTrigger(project: string, pipeline: string, name: string): Promise<{ deleted: string }> {
  const o = orchestration();
  await checkPipeline(project, pipeline);
  await changeTrigger(o.store, o.projectsDir, project, pipeline, { kind: 'delete', name }, o.clock.now());
  o.triggersChanged();
  return { deleted: name };
}

/** A new token for a trigger (the old one stops working). Shown once; the store keeps its SHA-256. */
export async function rotateToken(project: string, pipeline: string, name: string): Promise<string> {
  const o = orchestration();
  const dir = await checkPipeline(project, pipeline);
  let t = await o.store.triggers.get(project, pipeline, name);
  if (!t || !t.in_file) {
    await syncPipelineTriggers(o.store, dir, project, pipeline, o.clock.now());
    t = await o.store.triggers.get(project, pipeline, name);
  }
  if (!t || !t.in_file) throw notFound(`trigger "${name}" is not in pipelines/${pipeline}/triggers.yaml`);
  const token = randomBytes(24).toString('base64url');
  await o.store.triggers.setTokenHash(t.id, hashToken(token), o.clock.now());
  return token;
}

/**
 * The API trigger (CONTRACTS.md): a run of the trigger's pipeline, when the bearer token is the
 * trigger's. A wrong or missing token creates nothing (UnauthorizedError, answered 401).
 */
export async function runFromApi(project: string, pipeline: string, name: string, authorization: string | null, variables: Record<string, JsonValue> = {}): Promise<{ run: { id: string; status: string } }> {
  const o = orchestration();
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!token) throw new UnauthorizedError('missing token: send Authorization: Bearer <the trigger token>');
  let t = await o.store.triggers.get(project, pipeline, name);
  if (!t) {
    // A trigger just added to triggers.yaml by hand: read the file once.
    const dir = await projectDir(o.projectsDir, project).catch(() => null);
    if (dir && (await listPipelines(dir)).includes(pipeline)) await syncPipelineTriggers(o.store, dir, project, pipeline, o.clock.now());
    t = await o.store.triggers.get(project, pipeline, name);
  }
  if (!t || !t.in_file || !tokenMatches(token, t.token_hash)) throw new UnauthorizedError('unknown trigger or wrong token');
  if (t.status !== 'active') throw conflict(`trigger "${name}" is inactive: activate it to accept runs`);
  const trigger = t;
  const now = o.clock.now();
  // The call's own day (ds, execution_date, hr) replaces the trigger's default day whole.
  const callNamesDay = ['ds', 'execution_date', 'hr'].some((k) => k in variables);
  const triggerVariables = callNamesDay ? Object.fromEntries(Object.entries(trigger.variables).filter(([k]) => !['ds', 'execution_date', 'hr'].includes(k))) : trigger.variables;
  const runVariables = { ...triggerVariables, ...variables };
  // The call's execution_date or ds (a past day re-run through the API) is the run's execution date.
  const executionDate = executionDateFrom(runVariables, now);
  const run = await o.store.tx(async (c) => {
    if (trigger.settings.skip_if_previous_running) {
      // Calls that arrive together are decided one at a time: never two runs at once.
      await o.store.triggers.lock(c, trigger.id);
      if ((await o.store.runs.countActive(c, trigger.id)) > 0) {
        await o.store.triggers.addEvent(c, { triggerId: trigger.id, at: now, executionDate: now, decision: 'skipped_previous_running', message: 'API call skipped: a previous run of this trigger was still running (skip_if_previous_running)' });
        return null;
      }
    }
    return o.store.runs.create({ project, pipeline, triggerId: trigger.id, kind: 'api', executionDate, variables: runVariables, timeoutSeconds: trigger.settings.timeout }, c);
  });
  if (!run && trigger.settings.skip_if_previous_running) {
    throw conflict(`trigger "${name}" skips a call while its previous run is still running (skip_if_previous_running): no run was created`);
  }
  if (!run) throw new UserError('internal', 'the run could not be created');
  o.worker?.kick();
  return { run: { id: run.id, status: run.status } };
}

// ---- runs ----------------------------------------------------------------------------------------

/** A manual run of a whole pipeline ("Run now"), started by `startedBy` (a principal's id). */
export async function startManualRun(project: string, pipeline: string, variables: Record<string, JsonValue> = {}, startedBy: string | null = null): Promise<{ run: { id: string; status: string } }> {
  const o = orchestration();
  await checkPipeline(project, pipeline);
  const run = await o.store.runs.create({ project, pipeline, kind: 'manual', executionDate: executionDateFrom(variables, o.clock.now()), variables, startedBy });
  if (!run) throw new UserError('internal', 'the run could not be created');
  o.worker?.kick();
  return { run: { id: run.id, status: run.status } };
}

/** Users are the access layer's: their names come from its store, over the same database. */
export function userNamesOf(pool: Orchestration['store']['pool'], startedBy: readonly (string | null)[]): Promise<Map<string, string>> {
  return new AccessStore(pool).userNames(userIdsOf(startedBy));
}

/** Mage's SLA: the run should have completed within `sla` seconds of its execution date. */
export function slaMissed(run: RunRow, trigger: TriggerRow | null, now: Date): boolean {
  if (!trigger?.sla_seconds) return false;
  const due = run.execution_date.getTime() + trigger.sla_seconds * 1000;
  const done = run.status === 'completed' ? (run.completed_at?.getTime() ?? now.getTime()) : now.getTime();
  return done > due;
}

/** One line of the runs list: the stored run with its trigger's name and whether it missed its SLA. */
export type RunSummary = RunRow & { trigger_name: string | null; started_by_name: string | null; sla_missed: boolean };

/** The runs matching `query`, newest first, as the runs list shows them. */
export async function listRunSummaries(query: z.infer<typeof runListQuerySchema>): Promise<{ runs: RunSummary[] }> {
  const o = orchestration();
  let triggerId: string | undefined;
  if (query.trigger) {
    if (!query.project || !query.pipeline) throw invalidInput('filtering by trigger needs project and pipeline');
    triggerId = (await o.store.triggers.get(query.project, query.pipeline, query.trigger))?.id ?? 'none';
  }
  const runs = await o.store.runs.list({ project: query.project, pipeline: query.pipeline, triggerId, status: query.status, kind: query.kind, backfillId: query.backfill, limit: query.limit });
  const triggers = new Map<string, TriggerRow | null>();
  for (const r of runs) if (r.trigger_id && !triggers.has(r.trigger_id)) triggers.set(r.trigger_id, await o.store.triggers.getById(r.trigger_id));
  const names = await userNamesOf(o.store.pool, runs.map((r) => r.started_by));
  const now = o.clock.now();
  return {
    runs: runs.map((r) => {
      const t = r.trigger_id ? (triggers.get(r.trigger_id) ?? null) : null;
      return { ...r, trigger_name: t?.name ?? null, started_by_name: startedByLabel(r.started_by, names), sla_missed: slaMissed(r, t, now) };
    }),
  };
}

export async function runLogs(id: string, filter: { block?: string; after?: number; search?: string }) {
  const o = orchestration();
  if (!(await o.store.runs.get(id))) throw notFound(`run ${id} not found`);
  const lines = await o.store.logs.list(id, { block: filter.block, afterId: filter.after, search: filter.search });
  return { logs: lines };
}

export async function cancelRun(id: string): Promise<{ run: RunRow }> {
  const o = orchestration();
  const before = await o.store.runs.get(id);
  if (!before) throw notFound(`run ${id} not found`);
  if (before.status !== 'initial' && before.status !== 'running') throw conflict(`run ${id} is ${before.status}: only a waiting or running run can be cancelled`);
  const run = await o.store.runs.requestCancel(id, o.clock.now());
  if (!run) throw notFound(`run ${id} not found`);
  return { run };
}

export async function retryRun(id: string): Promise<{ run: RunRow }> {
  const o = orchestration();
  const before = await o.store.runs.get(id);
  if (!before) throw notFound(`run ${id} not found`);
  if (before.status !== 'failed' && before.status !== 'cancelled') throw conflict(`run ${id} is ${before.status}: only a failed or cancelled run can be retried`);
  const run = await o.store.runs.retryFromFailed(id, o.clock.now());
  if (!run) throw notFound(`run ${id} not found`);
  o.worker?.kick();
  return { run };
}

// ---- backfills -----------------------------------------------------------------------------------

function instant(text: string, what: string): Date {
  const d = parseStartTime(text, 'UTC');
  if (!d) throw invalidInput(`${what} "${text}" is not a date and time like 2024-01-01 00:00:00`);
  return d;
}

export async function createBackfill(project: string, pipeline: string, input: z.infer<typeof createBackfillSchema>): Promise<{ backfill: BackfillRow; runs: number }> {
  const o = orchestration();
  await checkPipeline(project, pipeline);
  const start = instant(input.start_datetime, 'start_datetime');
  const end = instant(input.end_datetime, 'end_datetime');
  let intervals;
  try {
    intervals = backfillIntervals(start, end, input.interval_unit, input.interval_value);
  } catch (e) {
    if (e instanceof BackfillError) throw invalidInput(e.message);
    throw e;
  }
  const variables = input.variables ?? {};
  const backfill = await o.store.backfills.create(
    { project, pipeline, name: input.name, start_datetime: start, end_datetime: end, interval_unit: input.interval_unit, interval_value: input.interval_value, concurrency: input.concurrency, variables },
    intervals.map((i) => ({
      executionDate: i.start,
      variables: {
        ...variables,
        interval_start_datetime: i.start.toISOString(),
        interval_end_datetime: i.end.toISOString(),
        interval_seconds: (i.end.getTime() - i.start.getTime()) / 1000,
      },
    })),
  );
  o.worker?.kick();
  return { backfill, runs: intervals.length };
}

export async function listBackfillViews(project: string, pipeline: string) {
  const o = orchestration();
  await checkPipeline(project, pipeline);
  const backfills = await o.store.backfills.list(project, pipeline);
  return { backfills: await Promise.all(backfills.map(async (b) => ({ ...b, progress: await o.store.backfills.progress(b.id) }))) };
}
