import { NextResponse } from 'next/server';
import { errorMessage, UserError } from '../errors';

const STATUS = { not_found: 404, invalid_input: 400, invalid_pipeline: 422, conflict: 409, internal: 500 } as const;

/** The one wrapper of every route handler: typed errors become their status and a JSON body. */
export async function respond<T>(work: () => Promise<T>): Promise<NextResponse> {
  try {
    return NextResponse.json(await work());
  } catch (e) {
    const code = e instanceof UserError ? e.code : 'internal';
    return NextResponse.json({ error: { code, message: errorMessage(e) } }, { status: STATUS[code] });
  }
}
