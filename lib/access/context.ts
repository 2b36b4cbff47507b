/**
 * The access layer of a running server: its store, its start token, its sign-in throttle and its
 * Host policy. The gate (custom server) and the route handlers (Next's bundle) reach the one
 * instance through a process slot (lib/process-slot.ts).
 */
import { processSlot } from '../process-slot';
import { type AccessStore, type StartToken } from './access-store';
import { type HostPolicy } from './hosts';
import { type SignInThrottle } from './throttle';

export interface AccessContext {
  store: AccessStore;
  startToken: StartToken;
  throttle: SignInThrottle;
  hosts: HostPolicy;
  /** Largest request body accepted, in bytes (GRIMOIRE_MAX_BODY_BYTES, default 10 MB). */
  maxBodyBytes: number;
  /** Writes a line to the server's own log (never to a client). */
  log(line: string): void;
}

const slot = processSlot<AccessContext>('access');

export function setAccessContext(context: AccessContext | undefined): void {
  slot.set(context);
}

export function accessContext(): AccessContext {
  const found = slot.get();
  if (!found) throw new Error('the access layer is not running (route handlers run only inside grimoire start)');
  return found;
}

/** The session cookie (HttpOnly, SameSite=Strict): its value is a random id whose hash is stored. */
export const SESSION_COOKIE = 'grimoire_session';

/** Set by the gate on every request it lets through (and stripped from what clients send). */
export const PRINCIPAL_HEADER = 'x-grimoire-principal';
/** Set by a route handler on a create's answer: what it made, for the audit entry the gate writes. */
export const AUDIT_TARGET_HEADER = 'x-grimoire-audit-target';

/** The client's address as the gate saw the connection (X-Forwarded-For is the client's word, not ours). */
export const CLIENT_ADDRESS_HEADER = 'x-grimoire-client-address';

export function sessionCookie(value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** The value of one cookie from a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? null;
}
