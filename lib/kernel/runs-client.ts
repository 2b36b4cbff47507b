/**
 * `ctx.runs` inside the kernel: each call becomes a `runs_request` to the kernel's host (which
 * reaches the run store) and waits for its `runs_answer`. Calls are checked here first, so a bad
 * argument is the block's error with the reason, not a message the host refuses.
 */
import { type BlockRuns, type PipelineRunInfo } from './block-api';
import { type KernelCommand, type KernelEvent } from './ipc';
import { runsRequestSchema, type RunsAnswer, type RunsRequest } from '../protocol/runs-request';

type Execute = Extract<KernelCommand, { type: 'execute' }>;

export class RunsClient {
  private readonly waiting = new Map<string, (answer: RunsAnswer) => void>();
  private counter = 0;

  constructor(private readonly send: (event: KernelEvent) => void) {}

  /** The host answered request `requestId`. */
  answer(requestId: string, answer: RunsAnswer): void {
    const resolve = this.waiting.get(requestId);
    this.waiting.delete(requestId);
    resolve?.(answer);
  }

  private async ask(cmd: Execute, raw: unknown): Promise<RunsAnswer & { ok: true }> {
    const parsed = runsRequestSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`ctx.runs: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'argument'}: ${i.message}`).join('; ')}`);
    const request: RunsRequest = parsed.data;
    const requestId = `runs${++this.counter}`;
    const answer = await new Promise<RunsAnswer>((resolve) => {
      this.waiting.set(requestId, resolve);
      this.send({ type: 'runs_request', requestId, runId: cmd.runId, executionDate: cmd.executionDate, request });
    });
    if (!answer.ok) throw new Error(answer.message);
    return answer;
  }

  /** `ctx.runs` for one block run. */
  forBlock(cmd: Execute): BlockRuns {
    const iso = (d: Date | undefined) => (d === undefined ? {} : { executionDate: d instanceof Date ? d.toISOString() : String(d) });
    return {
      trigger: async (pipeline, options = {}): Promise<PipelineRunInfo> => {
        const answer = await this.ask(cmd, { op: 'trigger', pipeline, variables: options.variables ?? {}, wait: options.wait ?? false, ...iso(options.executionDate) });
        if (!answer.run) throw new Error(`ctx.runs.trigger: the host did not say which run it started`);
        return answer.run;
      },
      completed: async (pipeline, options = {}) => {
        const answer = await this.ask(cmd, { op: 'completed', pipeline, hours: options.hours ?? 24, ...(options.block === undefined ? {} : { block: options.block }), ...iso(options.executionDate) });
        return answer.completed === true;
      },
    };
  }
}
