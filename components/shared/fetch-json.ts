import { type z } from 'zod';
import { apiErrorSchema } from '@/lib/protocol/editor-api';

/** An HTTP answer that was not 2xx, with the server's code (e.g. conflict) and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The browser's one way to call our HTTP API: JSON in, the answer validated against `schema`,
 * and every failure (offline, error status, unexpected shape) an ApiError with a readable message.
 */
export async function fetchJson<S extends z.ZodType>(
  url: string,
  schema: S,
  init?: { method: string; body?: unknown },
  offlineMessage = 'the server cannot be reached',
): Promise<z.infer<S>> {
  let response: Response;
  try {
    const method = init?.method ?? 'GET';
    response = await fetch(url, {
      method,
      // The server takes state changes only as JSON (a foreign page cannot send that without CORS).
      headers: method === 'GET' ? undefined : { 'content-type': 'application/json' },
      body: init?.body === undefined ? undefined : JSON.stringify(init.body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'offline', offlineMessage);
  }
  const json: unknown = await response.json().catch(() => null);
  if (response.status === 401) goToSignIn();
  if (!response.ok) {
    const err = apiErrorSchema.safeParse(json);
    throw new ApiError(response.status, err.success ? err.data.error.code : 'internal', err.success ? err.data.error.message : `HTTP ${response.status}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError(response.status, 'internal', `unexpected answer from ${url}: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/** The session ended (signed out elsewhere, user removed, role changed): sign in again and come back here. */
export function goToSignIn(): void {
  if (typeof window === 'undefined' || window.location.pathname === '/login') return;
  window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
}
