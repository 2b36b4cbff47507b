import { type z } from 'zod';
import { invalidInput } from '../errors';

/** Reads a JSON body and validates it; a bad one is a named invalid_input (400), never a crash. */
export async function parseBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await request.json();
  } catch {
    throw invalidInput('the request body is not JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw invalidInput(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}
