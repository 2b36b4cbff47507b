import { invalidInput } from '../errors';
import { type JsonValue, type Pipeline } from '../pipeline/model';

/**
 * Mage's runtime variables for a run, the same in every host: the pipeline's global variables,
 * overridden by the run's, plus execution_date (ISO), ds (YYYY-MM-DD), hr (HH, UTC),
 * pipeline_run_id and trigger_name (null when no trigger made the run). Pure.
 */
export function runtimeVariables(run: {
  pipeline: Pipeline;
  variables: Record<string, JsonValue>;
  executionDate: Date;
  runId: string;
  triggerName: string | null;
}): Record<string, JsonValue> {
  const iso = run.executionDate.toISOString();
  return {
    ...run.pipeline.variables,
    ...run.variables,
    execution_date: iso,
    ds: iso.slice(0, 10),
    hr: iso.slice(11, 13),
    pipeline_run_id: run.runId,
    trigger_name: run.triggerName,
  };
}

/** True when the Y-M-D and h:m:s written at the start of `text` name a real day and time (no 2022-02-30, no 24:00). */
function realCalendar(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return false;
  return m[4] === undefined || (Number(m[4]) <= 23 && Number(m[5]) <= 59 && Number(m[6] ?? 0) <= 59);
}

/**
 * The execution date a run's own variables ask for: `execution_date` (an ISO date and time, or a
 * date) or `ds` (YYYY-MM-DD, midnight UTC) with an optional `hr` (00..23, its hour), as a user
 * re-runs a past day (`grimoire run ... --runtime-vars '{"ds": "2022-08-18"}'`, an API call's
 * variables); `fallback` (now) when none is given. Then {{ ds }}, {{ execution_date }},
 * variables('ds') and ctx.executionDate all agree.
 * Throws invalid_input naming the variable when it is not a real date, or when they disagree.
 */
export function executionDateFrom(variables: Readonly<Record<string, JsonValue>>, fallback: Date): Date {
  const given = (name: 'execution_date' | 'ds'): Date | null => {
    const value = variables[name];
    if (value === undefined || value === null) return null;
    const text = typeof value === 'string' ? value.trim() : '';
    const pattern = name === 'ds' ? /^\d{4}-\d{2}-\d{2}$/ : /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
    // A date and time without a zone is UTC, as Mage's execution dates are.
    const iso = text.length === 10 ? `${text}T00:00:00Z` : /Z|[+-]\d{2}:?\d{2}$/.test(text) ? text.replace(' ', 'T') : `${text.replace(' ', 'T')}Z`;
    const at = pattern.test(text) ? new Date(iso) : new Date(NaN);
    // A day or hour that does not exist (2022-02-30, 24:00) must not roll over: the calendar date
    // and time written must be real, with or without an offset.
    if (Number.isNaN(at.getTime()) || !realCalendar(text)) {
      throw invalidInput(`runtime variable ${name} must be ${name === 'ds' ? 'a date like 2022-08-18' : 'a date and time like 2022-08-18T00:00:00Z'}, got ${JSON.stringify(value)}`);
    }
    return at;
  };
  const fromDate = given('execution_date');
  let fromDs = given('ds');
  const hr = variables.hr;
  if (hr !== undefined && hr !== null) {
    const hour = typeof hr === 'number' ? hr : typeof hr === 'string' && /^\d{1,2}$/.test(hr.trim()) ? Number(hr.trim()) : NaN;
    if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw invalidInput(`runtime variable hr must be an hour from 00 to 23, got ${JSON.stringify(hr)}`);
    const base = fromDs ?? fromDate;
    if (!base) throw invalidInput('runtime variable hr is the hour of ds: give ds (or execution_date) with it');
    if (fromDate && fromDate.getUTCHours() !== hour) {
      throw invalidInput(`runtime variables execution_date (${fromDate.toISOString()}) and hr (${String(hr)}) name different hours: give one, or the same hour`);
    }
    if (fromDs) fromDs = new Date(fromDs.getTime() + hour * 3_600_000);
  }
  if (fromDate && fromDs && fromDate.toISOString().slice(0, 10) !== fromDs.toISOString().slice(0, 10)) {
    throw invalidInput(`runtime variables execution_date (${fromDate.toISOString()}) and ds (${fromDs.toISOString().slice(0, 10)}) name different days: give one, or the same day`);
  }
  return fromDate ?? fromDs ?? fallback;
}
