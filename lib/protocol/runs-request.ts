/**
 * What a block asks of the project's pipeline runs through `ctx.runs` (block-api.ts), as the
 * kernel asks its host (the kernel has no access to the run store itself), and the answers.
 */
import { z } from 'zod';
import { jsonValue } from './json';

export const runsRequestSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('trigger'),
    pipeline: z.string().min(1).max(200),
    variables: z.record(z.string(), jsonValue),
    wait: z.boolean(),
    /** ISO time; the asking run's when absent. */
    executionDate: z.string().optional(),
  }),
  z.object({
    op: z.literal('completed'),
    pipeline: z.string().min(1).max(200),
    block: z.string().min(1).max(500).optional(),
    /** ISO time; the asking run's when absent. */
    executionDate: z.string().optional(),
    hours: z.number().positive(),
  }),
]);
export type RunsRequest = z.infer<typeof runsRequestSchema>;

export const pipelineRunInfoSchema = z.object({ id: z.string(), pipeline: z.string(), status: z.string(), executionDate: z.string() });

export const runsAnswerSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), run: pipelineRunInfoSchema.optional(), completed: z.boolean().optional() }),
  z.object({ ok: z.literal(false), message: z.string() }),
]);
export type RunsAnswer = z.infer<typeof runsAnswerSchema>;
