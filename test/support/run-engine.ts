/**
 * Tests as a host of the run engine: `runBlocks` runs a scope through lib/engine/run-engine.ts with
 * one hook that hands every event to `onEvent`, as the editor's host does.
 */
import { randomUUID } from 'node:crypto';
import { RunLifecycleHooks } from '../../lib/engine/lifecycle-hooks';
import { type EngineRequest, runPipeline, type RunOutcome } from '../../lib/engine/run-engine';
import { type RunEvent } from '../../lib/protocol/run-events';
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
