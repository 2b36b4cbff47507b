import { NextResponse } from 'next/server';

export const dynamic = 'force-dynamic';

/** Open without sign-in, for load balancers and container health checks: says nothing but that it answers. */
export function GET() {
  return NextResponse.json({ ok: true });
}
