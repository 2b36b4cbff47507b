import { NextResponse } from 'next/server';
import { collectMetrics } from '@/lib/metrics/metrics';
import { orchestration } from '@/lib/scheduler/slot';
import { errorResponse } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/**
 * Prometheus metrics of the whole cluster, read from the store (lib/metrics/metrics.ts). Text,
 * not JSON, so not `respond`; a failure still answers as every route does (errorResponse).
 */
export async function GET() {
  try {
    const { text, contentType } = await collectMetrics(orchestration().store.pool);
    return new NextResponse(text, { headers: { 'Content-Type': contentType, 'Cache-Control': 'no-store' } });
  } catch (e) {
    return errorResponse(e);
  }
}
