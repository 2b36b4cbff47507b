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

/**
 * The execution date a run's own variables ask for: `execution_date` (an ISO date and time, or a
 * date) or `ds` (YYYY-MM-DD, midnight UTC), as a user re-runs a past day (`grimoire run ...
 * --runtime-vars '{"ds": "2022-08-18"}'`, an API call's variables); `fallback` (now) when neither
 * is given. Then {{ ds }}, {{ execution_date }}, variables('ds') and ctx.executionDate all agree.
 * Throws invalid_input naming the variable when it is not a date, or when the two disagree.
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
    // A day that does not exist (2022-02-30) must not roll over into March: the calendar date
    // written must be the one parsed (checked on dates without an offset, where they are UTC).
    const day = text.slice(0, 10);
    const rolled = !/[+-]\d{2}:?\d{2}$/.test(text) && !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) !== day;
    if (Number.isNaN(at.getTime()) || rolled) {
      throw invalidInput(`runtime variable ${name} must be ${name === 'ds' ? 'a date like 2022-08-18' : 'a date and time like 2022-08-18T00:00:00Z'}, got ${JSON.stringify(value)}`);
    }
    return at;
  };
  const fromDate = given('execution_date');
  const fromDs = given('ds');
  if (fromDate && fromDs && fromDate.toISOString().slice(0, 10) !== fromDs.toISOString().slice(0, 10)) {
    throw invalidInput(`runtime variables execution_date (${fromDate.toISOString()}) and ds (${fromDs.toISOString().slice(0, 10)}) name different days: give one, or the same day`);
  }
  return fromDate ?? fromDs ?? fallback;
}
