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
