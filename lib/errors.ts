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

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
