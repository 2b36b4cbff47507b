/** Errors that reach users, each with a stable code that HTTP and socket replies carry. */
export type ErrorCode = 'not_found' | 'invalid_input' | 'invalid_pipeline' | 'conflict' | 'unauthorized' | 'forbidden' | 'too_many_requests' | 'internal';

export class UserError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export const notFound = (message: string) => new UserError('not_found', message);
export const invalidInput = (message: string) => new UserError('invalid_input', message);
export const forbidden = (message: string) => new UserError('forbidden', message);

const ERROR_CODES: readonly string[] = ['not_found', 'invalid_input', 'invalid_pipeline', 'conflict', 'unauthorized', 'forbidden', 'too_many_requests', 'internal'];
const isErrorCode = (v: unknown): v is ErrorCode => typeof v === 'string' && ERROR_CODES.includes(v);

/**
 * The code of a UserError, from this module or its other copy: route handlers run in Next's
 * bundle and call objects (the access store) made by the custom server's copy of this module,
 * so `instanceof` alone misses errors thrown by the other copy.
 */
export function userErrorCode(e: unknown): ErrorCode | null {
  if (e instanceof UserError) return e.code;
  if (e instanceof Error && e.name === 'UserError' && 'code' in e && isErrorCode(e.code)) return e.code;
  return null;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
