/** A small HTTP client for tests that talk to the server as scripts and attackers do. */
export interface Answer {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

export interface Call {
  cookie?: string;
  bearer?: string;
  body?: unknown;
  /** A raw body string (sent as is, with the given headers). */
  raw?: string;
  headers?: Record<string, string>;
}

export async function call(base: string, method: string, path: string, c: Call = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  if (c.cookie) headers.cookie = c.cookie;
  if (c.bearer) headers.authorization = `Bearer ${c.bearer}`;
  let body: string | undefined = c.raw;
  if (c.body !== undefined) {
    body = JSON.stringify(c.body);
    headers['content-type'] ??= 'application/json';
  }
  const r = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: r.status, text, json, headers: r.headers };
}

/** The `error.code` of a JSON error answer, or ''. */
export function errorCode(a: Answer): string {
  const j = a.json;
  if (j && typeof j === 'object' && 'error' in j && j.error && typeof j.error === 'object' && 'code' in j.error) return String(j.error.code);
  return '';
}

/** The session cookie a sign-in answer set, as a Cookie header value. */
export function sessionCookieOf(a: Answer): string {
  const set = a.headers.get('set-cookie') ?? '';
  const m = /grimoire_session=([^;]+)/.exec(set);
  if (!m) throw new Error(`no session cookie in ${a.status} ${a.text.slice(0, 200)}`);
  return `grimoire_session=${m[1]}`;
}
