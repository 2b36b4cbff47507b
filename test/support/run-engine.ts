/**
 * Tests as a host of the run engine: `runBlocks` runs a scope through lib/engine/run-engine.ts with
 * one hook that hands every event to `onEvent`, as the editor's host does.
 */
import { randomUUID } from 'node:crypto';
import { RunLifecycleHooks } from '../../lib/engine/lifecycle-hooks';
import { type EngineRequest, runPipeline, type RunOutcome } from '../../lib/engine/run-engine';
import { type OutputPreview, type RunEvent } from '../../lib/protocol/run-events';
import { loadPipeline } from '../../lib/project/load';
import { planRun, type RunScope } from '../../lib/run/plan';

export type { RunEvent } from '../../lib/protocol/run-events';
export type RunResult = RunOutcome;

export type RunRequest = Omit<EngineRequest, 'runId' | 'hooks' | 'planned'> & {
  scope: RunScope;
  runId?: string;
  onEvent?: (event: RunEvent) => void;
};

export function runBlocks(req: RunRequest): Promise<RunOutcome> {
  const { onEvent, runId, scope, ...rest } = req;
  const hooks = new RunLifecycleHooks();
  if (onEvent) hooks.onAny(onEvent);
  return runPipeline({ ...rest, planned: planRun(rest.pipeline.blocks, scope), runId: runId ?? randomUUID(), hooks });
}

/** What a run showed its host: the outcome, each block's last preview, and the log text. */
export interface CollectedRun {
  result: RunOutcome;
  previews: Map<string, OutputPreview>;
  logs: string;
}

/** Runs `scope` of pipeline `pipelineUuid` in `projectDir` on `kernel`, collecting previews and logs. */
export async function runCollecting(req: { kernel: EngineRequest['kernel']; projectDir: string; pipelineUuid: string; scope: RunScope; variables?: Record<string, string> }): Promise<CollectedRun> {
  const { pipeline } = await loadPipeline(req.projectDir, req.pipelineUuid);
  const previews = new Map<string, OutputPreview>();
  let logs = '';
  const result = await runBlocks({
    kernel: req.kernel,
    pipeline,
    scope: req.scope,
    variables: req.variables,
    onEvent: (e) => {
      if (e.type === 'output') previews.set(e.block, e.preview);
      if (e.type === 'log') logs += e.text;
    },
  });
  return { result, previews, logs };
}
