/**
 * Where a block run reads each upstream's data from (dynamic blocks, lib/run/fan-out.ts), as the
 * run engine tells the kernel. Names are block-run names (`<uuid>` or `<uuid>:<key>...`).
 */
import { z } from 'zod';

export const runInputSchema = z.discriminatedUnion('kind', [
  /** The whole output of a block run. */
  z.object({ kind: z.literal('output'), name: z.string() }),
  /** One row (0-based, in output order) of a dynamic block run's output: a child's item. */
  z.object({ kind: z.literal('item'), name: z.string(), row: z.number().int().nonnegative() }),
  /** The outputs of these block runs, one after the other (reduce_output). */
  z.object({ kind: z.literal('combined'), names: z.array(z.string()) }),
]);
export type RunInput = z.infer<typeof runInputSchema>;
