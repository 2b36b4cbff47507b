import { type z } from 'zod';
import { invalidInput } from '../errors';

/** Deeper JSON than this is refused before validation (a recursive schema would overflow the stack). */
const MAX_DEPTH = 64;

/** How deep a parsed JSON value nests, stopping as soon as it passes `limit`; iterative, so never overflows. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const top = stack.pop();
    if (!top || top.v === null || typeof top.v !== 'object') continue;
    if (top.depth >= limit) return true;
    for (const child of Object.values(top.v)) stack.push({ v: child, depth: top.depth + 1 });
  }
  return false;
}

/** Reads a JSON body and validates it; a bad one is a named invalid_input (400), never a crash. */
export async function parseBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await request.json();
  } catch {
    throw invalidInput('the request body is not JSON');
  }
  if (jsonDepthExceeds(raw, MAX_DEPTH)) throw invalidInput(`the request body nests deeper than ${MAX_DEPTH} levels`);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw invalidInput(parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}
