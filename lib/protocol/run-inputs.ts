/**
 * Where a block run reads each upstream's data from (RunInput, lib/run/fan-out.ts), as the run
 * engine tells the kernel: the schema that checks it on arrival. Names are block-run names.
 */
import { z } from 'zod';
import { type RunInput } from '../run/fan-out';

export const runInputSchema: z.ZodType<RunInput> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('output'), name: z.string() }),
  z.object({ kind: z.literal('item'), name: z.string(), row: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('combined'), names: z.array(z.string()) }),
]);
export type { RunInput };
