import { NextResponse } from 'next/server';
import { AUDIT_TARGET_HEADER } from '../access/context';
import { errorMessage, userErrorCode } from '../errors';

const STATUS = { not_found: 404, invalid_input: 400, invalid_pipeline: 422, conflict: 409, unauthorized: 401, forbidden: 403, too_many_requests: 429, internal: 500 } as const;

/**
 * The one wrapper of every route handler: typed errors become their status and a JSON body.
 * Anything else is our own failure: its details (stack, SQL) go to the server's log, and the
 * client is told only that it happened.
 */
export async function respond<T>(work: () => Promise<T>, status = 200, auditTarget?: (result: T) => string): Promise<NextResponse> {
  try {
    const result = await work();
    const response = NextResponse.json(result, { status });
    // What a create made (its name, a run's id): the gate writes it into the audit entry.
    if (auditTarget) response.headers.set(AUDIT_TARGET_HEADER, encodeURIComponent(auditTarget(result).slice(0, 300)));
    return response;
  } catch (e) {
    return errorResponse(e);
  }
}

export function errorResponse(e: unknown): NextResponse {
  const code = userErrorCode(e);
  if (code) return NextResponse.json({ error: { code, message: errorMessage(e) } }, { status: STATUS[code] });
  process.stderr.write(`route: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return NextResponse.json({ error: { code: 'internal', message: 'internal error; the server log has the details' } }, { status: 500 });
}
