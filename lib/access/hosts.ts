/**
 * Which Host and Origin headers a server answers (DNS rebinding and cross-site requests).
 * Pure: the gate and the socket handshake call these with the request's headers.
 */

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** True for the addresses `start` may bind without users: the loopback interface only. */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

export interface HostPolicy {
  /** The address the server was bound to (e.g. 127.0.0.1, 0.0.0.0). */
  boundHost: string;
  port: number;
  /** GRIMOIRE_ALLOWED_HOSTS: "name" (any port) or "name:port" entries. */
  allowedHosts: readonly string[];
}

/** Parses GRIMOIRE_ALLOWED_HOSTS (comma separated, spaces ignored, lower-cased). */
export function parseAllowedHosts(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

function splitHost(host: string): { name: string; port: string | null } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  return m ? { name: m[1] ?? '', port: m[2] ?? null } : { name: host, port: null };
}

/**
 * Whether a request's Host header names this server. The loopback names with the server's port
 * always do; names in GRIMOIRE_ALLOWED_HOSTS do; on a non-loopback bind with no list, any Host
 * does (the operator chose to expose it; the list is how to pin it).
 */
export function hostAllowed(hostHeader: string | undefined, policy: HostPolicy): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.toLowerCase();
  const { name, port } = splitHost(host);
  if (LOOPBACK_NAMES.includes(name) && port === String(policy.port)) return true;
  for (const entry of policy.allowedHosts) {
    const allowed = splitHost(entry);
    if (allowed.name === name && (allowed.port === null || allowed.port === port)) return true;
  }
  return !isLoopbackBind(policy.boundHost) && policy.allowedHosts.length === 0;
}

/**
 * Whether an Origin header is this server's own: the scheme and the (already checked) Host the
 * request came to. An absent Origin (curl, scripts) is the caller's business: such requests
 * carry no ambient cookie from a foreign page. "null" (sandboxed frames, file:) never matches.
 */
export function originAllowed(originHeader: string | undefined, hostHeader: string | undefined): boolean {
  if (originHeader === undefined) return true;
  if (!hostHeader) return false;
  const host = hostHeader.toLowerCase();
  return originHeader.toLowerCase() === `http://${host}` || originHeader.toLowerCase() === `https://${host}`;
}
