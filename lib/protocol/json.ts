/** JSON values as they travel (variables, rows of a preview), validated like any outside data. */
import { z } from 'zod';
import { type JsonValue } from '../pipeline/model';

export const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

/** Runtime or global variables: name -> JSON value. */
export const variablesSchema = z.record(z.string(), jsonValue);
