import { NextResponse } from 'next/server';
import { apiRunBodySchema } from '@/lib/protocol/runs-api';
import { runFromApi, UnauthorizedError } from '@/lib/scheduler/service';
import { respond } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/**
 * The API trigger (CONTRACTS.md): Authorization: Bearer <token>, body {"variables": {...}};
 * 201 {"run": {"id", "status"}}; a wrong or missing token is 401 and creates nothing.
 */
export async function POST(request: Request, { params }: { params: Promise<{ project: string; pipeline: string; trigger: string }> }) {
  const { project, pipeline, trigger } = await params;
  try {
    const text = await request.text();
    const body = text.trim() === '' ? {} : await parseBody(new Request(request.url, { method: 'POST', body: text }), apiRunBodySchema);
    return NextResponse.json(await runFromApi(project, pipeline, trigger, request.headers.get('authorization'), body.variables), { status: 201 });
  } catch (e) {
    if (e instanceof UnauthorizedError) return NextResponse.json({ error: { code: 'unauthorized', message: e.message } }, { status: 401 });
    return respond(() => Promise.reject(e));
  }
}
