/**
 * `ctx.runs` for `grimoire run`: no worker may be running, so a run a block starts is run here,
 * in this process, as a nested `grimoire run` (its lines indented under the pipeline's name);
 * check_status reads the run history when one is reachable.
 */
import { randomUUID } from 'node:crypto';
import { type KernelRuns } from '../kernel/host';
import { type JsonValue } from '../pipeline/model';
import { loadPipeline } from '../project/load';
import { type RunsAnswer } from '../protocol/runs-request';
import { checkStatus } from '../runs/pipeline-runs';
import { type Store } from '../store/store';

export interface CliRunsOptions {
  projectDir: string;
  /** The project's folder name, as the run history names it. */
  project: string;
  /** The pipelines of this run and the runs that started it, outermost first: none may be started again (it would never end). */
  chain: readonly string[];
  /** The run history, for check_status; null when none is reachable. */
  history: Store | null;
  /** Runs a pipeline here (a nested grimoire run) under `runId`; resolves with whether it completed. */
  runNested: (pipeline: string, variables: Record<string, JsonValue>, executionDate: Date, runId: string) => Promise<boolean>;
}

/** ctx.runs for a `grimoire run`; `settled` resolves once every run started without `wait` has ended. */
export function cliRuns(options: CliRunsOptions): KernelRuns & { settled(): Promise<void> } {
  const background: Promise<unknown>[] = [];
  return {
    settled: async () => {
      await Promise.allSettled(background);
    },
    async handle(request, asking): Promise<RunsAnswer> {
      const executionDate = new Date(request.executionDate ?? asking.executionDate);
      if (Number.isNaN(executionDate.getTime())) return { ok: false, message: `ctx.runs: executionDate ${request.executionDate ?? asking.executionDate} is not a date` };
      if (request.op === 'completed') {
        if (!options.history) return { ok: false, message: 'ctx.runs.completed needs the run history: start `grimoire start` or set DATABASE_URL (and do not pass --no-record)' };
        return { ok: true, completed: await checkStatus(options.history, options.project, request, executionDate) };
      }
      if (options.chain.includes(request.pipeline)) return { ok: false, message: `ctx.runs.trigger: pipeline ${request.pipeline} is already running in this chain (${[...options.chain, request.pipeline].join(' -> ')}): it would never end` };
      await loadPipeline(options.projectDir, request.pipeline);
      const runId = randomUUID();
      const info = { id: runId, pipeline: request.pipeline, executionDate: executionDate.toISOString() };
      const nested = options.runNested(request.pipeline, request.variables, executionDate, runId);
      if (!request.wait) {
        background.push(nested.catch(() => false));
        return { ok: true, run: { ...info, status: 'running' } };
      }
      const completed = await nested;
      if (!completed) return { ok: false, message: `ctx.runs.trigger: run ${runId} of pipeline ${request.pipeline} did not complete (its lines above say why)` };
      return { ok: true, run: { ...info, status: 'completed' } };
    },
  };
}
