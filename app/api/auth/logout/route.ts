import { NextResponse } from 'next/server';
import { signOut } from '@/lib/access/auth-service';
import { clearedSessionCookie, cookieValue, SESSION_COOKIE } from '@/lib/access/context';
import { errorResponse } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

/** Ends this browser's session (the cookie is cleared too). */
export async function POST(request: Request) {
  try {
    await signOut(cookieValue(request.headers.get('cookie') ?? undefined, SESSION_COOKIE));
    const response = NextResponse.json({ signedOut: true });
    response.headers.append('Set-Cookie', clearedSessionCookie());
    return response;
  } catch (e) {
    return errorResponse(e);
  }
}
