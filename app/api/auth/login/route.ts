import { NextResponse } from 'next/server';
import { signIn } from '@/lib/access/auth-service';
import { CLIENT_ADDRESS_HEADER, sessionCookie } from '@/lib/access/context';
import { loginSchema } from '@/lib/protocol/access-api';
import { errorResponse } from '@/lib/server/http';
import { parseBody } from '@/lib/server/request-body';

export const dynamic = 'force-dynamic';

/** {"username","password"} -> 200 and the session cookie; 401 for any wrong pair; 429 when throttled. */
export async function POST(request: Request) {
  try {
    const body = await parseBody(request, loginSchema);
    const signedIn = await signIn(body.username, body.password, request.headers.get(CLIENT_ADDRESS_HEADER) ?? 'unknown');
    const response = NextResponse.json({ user: signedIn.user });
    response.headers.append('Set-Cookie', sessionCookie(signedIn.cookieValue, signedIn.maxAgeSeconds));
    return response;
  } catch (e) {
    return errorResponse(e);
  }
}
