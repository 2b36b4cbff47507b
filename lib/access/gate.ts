/**
 * The HTTP gate: every request to the server passes here before Next sees it. In order:
 * security headers; the body limit; the Host (DNS rebinding); a canonical path (no encoded
 * separators or dot segments, so the route we authorise is the route Next serves); the rule for
 * the method and path (lib/access/rules.ts; no rule, no entry); cross-site checks for state-changing
 * requests (JSON only, from our own Origin); then the principal and its role. A refusal answers
 * JSON `{"error":{"code","message"}}` and nothing behind the gate runs.
 */
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { authenticate } from './authenticate';
import { type AccessContext, AUDIT_TARGET_HEADER, CLIENT_ADDRESS_HEADER, PRINCIPAL_HEADER, sessionCookie } from './context';
import { sameSecret } from './credentials';
import { SESSION_LIFETIME_MS } from './access-store';
import { hostAllowed, originAllowed } from './hosts';
import { localReturnPath } from './return-path';
import { canonicalPath, findHttpRule, isPublicFile, type HttpRule } from './rules';
import { type Principal, roleAllows, withArticle } from './roles';
import { sha256 } from './credentials';

export type Forward = (req: IncomingMessage, res: ServerResponse) => void;

const SECURITY_HEADERS: Record<string, string> = {
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const SAFE_METHODS = new Set(['GET', 'HEAD']);

function refuse(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
  res.end(JSON.stringify({ error: { code, message } }));
  // A body nobody will read is drained (within the body limit), so the client gets this answer
  // on a connection it can reuse instead of a reset while it is still sending.
  res.req.resume();
}

function redirect(res: ServerResponse, location: string, cookie?: string): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store', ...(cookie ? { 'Set-Cookie': cookie } : {}) });
  res.end();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isJson(req: IncomingMessage): boolean {
  const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

function hasBody(req: IncomingMessage): boolean {
  const length = header(req, 'content-length');
  return (length !== undefined && length !== '0') || header(req, 'transfer-encoding') !== undefined;
}

/**
 * Counts body bytes as the parser hands them over, so a body without Content-Length (chunked)
 * is cut off at the limit instead of being read whole into memory by whoever reads it.
 */
function limitBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): void {
  let seen = 0;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null && (Buffer.isBuffer(chunk) || typeof chunk === 'string')) {
      seen += Buffer.byteLength(chunk);
      if (seen > maxBytes) {
        refuse(res, 413, 'payload_too_large', `the request body is larger than ${maxBytes} bytes`, { Connection: 'close' });
        req.destroy();
        return false;
      }
    }
    return push(chunk, encoding);
  };
}

const OWN_HEADERS = new Set([PRINCIPAL_HEADER, CLIENT_ADDRESS_HEADER]);

/** Removes the headers only the gate may set, from the parsed headers and the raw list alike. */
function dropOwnHeaders(req: IncomingMessage): void {
  for (const name of OWN_HEADERS) delete req.headers[name];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (OWN_HEADERS.has((raw[i] ?? '').toLowerCase())) raw.splice(i, 2);
}

function principalHeader(p: Principal): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url');
}

export interface Gate {
  /** Handles a request: refuses it, or forwards it (with the principal attached) to Next. */
  handle(req: IncomingMessage, res: ServerResponse, forward: Forward): void;
}

export function createGate(context: () => AccessContext, options: { dev: boolean }): Gate {
  const decide = async (req: IncomingMessage, res: ServerResponse, forward: Forward): Promise<void> => {
    const ctx = context();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    // Nobody but the gate may say who a request is, or where it came from.
    dropOwnHeaders(req);
    req.headers[CLIENT_ADDRESS_HEADER] = req.socket.remoteAddress ?? 'unknown';
    // First the body limit: every later refusal drains what the client still sends, within it.
    const maxBytes = ctx.maxBodyBytes;
    const length = Number(header(req, 'content-length') ?? 0);
    if (Number.isFinite(length) && length > maxBytes) {
      refuse(res, 413, 'payload_too_large', `the request body is larger than ${maxBytes} bytes`, { Connection: 'close' });
      return;
    }
    limitBody(req, res, maxBytes);
    const host = header(req, 'host');
    if (!hostAllowed(host, ctx.hosts)) {
      refuse(res, 403, 'forbidden_host', `this server does not answer to Host "${(host ?? '').slice(0, 100)}"; add it to GRIMOIRE_ALLOWED_HOSTS to allow it`);
      return;
    }
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const rawPath = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    const path = canonicalPath(rawPath);
    if (!path.ok) {
      refuse(res, 400, 'invalid_input', `bad request path: ${path.reason}`);
      return;
    }
    const method = req.method ?? 'GET';
    if (isPublicFile(path.path) || (options.dev && (path.path.startsWith('/_next/') || path.path.startsWith('/__nextjs')))) {
      if (!SAFE_METHODS.has(method)) {
        refuse(res, 405, 'method_not_allowed', `${method} is not allowed here`, { Allow: 'GET, HEAD' });
        return;
      }
      forward(req, res);
      return;
    }
    const { match, methodsAt } = findHttpRule(method, path.segments);
    const principal = await authenticate(ctx.store, ctx.startToken, { cookie: header(req, 'cookie'), authorization: header(req, 'authorization') });
    if (!match) {
      // Anonymous callers learn nothing about which paths exist.
      if (!principal) {
        refuse(res, 401, 'unauthorized', 'sign in first');
        return;
      }
      if (methodsAt.length > 0) refuse(res, 405, 'method_not_allowed', `${method} is not allowed on ${path.path}`, { Allow: methodsAt.join(', ') });
      else refuse(res, 404, 'not_found', `nothing at ${path.path.slice(0, 200)}`);
      return;
    }
    const rule = match.rule;
    if (!SAFE_METHODS.has(method)) {
      // Cross-site requests: a foreign page can send a simple POST with the user's cookie, but not
      // with our Origin, and not as application/json without a CORS preflight we never grant.
      if (!originAllowed(header(req, 'origin'), host)) {
        refuse(res, 403, 'forbidden_origin', 'cross-site requests are refused');
        return;
      }
      const bodyOptional = rule.access === 'trigger_token' && !hasBody(req);
      if (!bodyOptional && !isJson(req)) {
        refuse(res, 415, 'unsupported_media_type', 'send the request as Content-Type: application/json');
        return;
      }
    }
    if (rule.access === 'public' || rule.access === 'trigger_token') {
      if (principal) req.headers[PRINCIPAL_HEADER] = principalHeader(principal);
      if (rule.access === 'trigger_token') auditWhenDone(ctx, res, 'api_trigger', rule, match.params);
      forward(req, res);
      return;
    }
    if (!principal) {
      if (rule.page && method === 'GET' && (await signInWithLinkToken(ctx, req, res, rawUrl))) return;
      if (rule.page) redirect(res, `/login?next=${encodeURIComponent(localReturnPath(rawUrl))}`);
      else refuse(res, 401, 'unauthorized', 'sign in first (a session cookie, or Authorization: Bearer <token>)');
      return;
    }
    if (rule.page && method === 'GET' && new URL(rawUrl, 'http://x').searchParams.has('token')) {
      // Already signed in: still take the token out of the address bar (and history).
      if (await signInWithLinkToken(ctx, req, res, rawUrl)) return;
    }
    if (!roleAllows(principal.role, rule.access)) {
      refuse(res, 403, 'forbidden', `this needs the ${rule.access} role; you are ${withArticle(principal.role)}`);
      return;
    }
    req.headers[PRINCIPAL_HEADER] = principalHeader(principal);
    if (!SAFE_METHODS.has(method)) auditWhenDone(ctx, res, principal.name, rule, match.params);
    forward(req, res);
  };
  return {
    handle(req, res, forward) {
      decide(req, res, forward).catch((e: unknown) => {
        context().log(`gate: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        refuse(res, 500, 'internal', 'internal error; the server log has the details');
      });
    },
  };
}

/**
 * `/?token=<start token>`: the link `start` prints. A right token makes a session cookie and sends
 * the browser to the same page without the token; a wrong one goes to the sign-in page.
 */
async function signInWithLinkToken(ctx: AccessContext, req: IncomingMessage, res: ServerResponse, rawUrl: string): Promise<boolean> {
  const url = new URL(rawUrl, 'http://x');
  const token = url.searchParams.get('token');
  if (token === null) return false;
  url.searchParams.delete('token');
  const back = url.pathname + (url.searchParams.size > 0 ? `?${url.searchParams.toString()}` : '');
  const start = ctx.startToken;
  const address = req.socket.remoteAddress ?? 'unknown';
  const keys = [`ip:${address}`];
  if (ctx.throttle.waitMs(keys) > 0) {
    redirect(res, `/login?error=throttled&next=${encodeURIComponent(localReturnPath(back))}`);
    return true;
  }
  const ok = start.hash !== null && sameSecret(sha256(token), start.hash) && (await ctx.store.startTokenAccepted(start));
  if (!ok) {
    ctx.throttle.failed(keys);
    await ctx.store.audit('token', 'sign_in_failed', 'start token', { address });
    redirect(res, `/login?error=token&next=${encodeURIComponent(localReturnPath(back))}`);
    return true;
  }
  ctx.throttle.succeeded(keys);
  const session = await ctx.store.createSession(null, start.hash);
  await ctx.store.audit('token', 'sign_in', 'start token', { address });
  redirect(res, localReturnPath(back), sessionCookie(session, Math.floor(SESSION_LIFETIME_MS / 1000)));
  return true;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** State changes that succeeded go to the audit log: who, what (the rule), which (the path's names). */
function auditWhenDone(ctx: AccessContext, res: ServerResponse, actor: string, rule: HttpRule, params: Record<string, string>): void {
  res.once('finish', () => {
    if (res.statusCode >= 400) return;
    const action = rule.audit ?? `${rule.method} ${rule.path}`;
    const made = res.getHeader(AUDIT_TARGET_HEADER);
    const path = Object.values(params).join('/');
    const target = typeof made === 'string' ? [path, safeDecode(made)].filter((t) => t !== '').join('/') : path;
    ctx.store.audit(actor, action, target, params).catch((e: unknown) => ctx.log(`audit: ${e instanceof Error ? e.message : String(e)}`));
  });
}
