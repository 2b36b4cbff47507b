/**
 * The one table of who may do what: every HTTP route, page and socket message with the access it
 * needs. The HTTP gate (lib/access/gate.ts) and the socket gateway look actions up here before
 * any work; an action without an entry is refused. test/unit/access-rules.test.ts checks that
 * every route file, page and message type under app/ and lib/protocol has exactly one entry.
 */
import { type ClientMessage } from '../protocol/messages';
import { type Role } from './roles';

/**
 * - a role: a signed-in principal holding at least that role.
 * - `public`: anyone (the sign-in page and route, the health check, static assets).
 * - `trigger_token`: the API-trigger route, which checks its trigger's own token (CONTRACTS.md).
 */
export type Access = Role | 'public' | 'trigger_token';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRule {
  method: HttpMethod;
  /** App-router style: literal segments and `[param]` segments, e.g. /api/runs/[id]. */
  path: string;
  access: Access;
  /** A page (HTML): an anonymous visitor is sent to the sign-in page instead of a 401. */
  page?: true;
  /** The audit log's name for a state change that succeeded (every non-GET rule has one). */
  audit?: string;
}

const P = '/api/projects/[project]';
const PL = `${P}/pipelines/[pipeline]`;

export const HTTP_RULES: readonly HttpRule[] = [
  // Open: sign-in, health.
  { method: 'GET', path: '/api/health', access: 'public' },
  { method: 'POST', path: '/api/auth/login', access: 'public' },
  { method: 'GET', path: '/login', access: 'public', page: true },
  // Signed in.
  { method: 'POST', path: '/api/auth/logout', access: 'viewer', audit: 'sign_out' },
  { method: 'GET', path: '/api/auth/me', access: 'viewer' },
  { method: 'GET', path: '/api/editor/block-api', access: 'viewer' },
  { method: 'GET', path: '/api/projects', access: 'viewer' },
  { method: 'POST', path: '/api/projects', access: 'editor', audit: 'project_created' },
  { method: 'GET', path: `${P}/files`, access: 'viewer' },
  { method: 'GET', path: `${P}/pipelines`, access: 'viewer' },
  { method: 'POST', path: `${P}/pipelines`, access: 'editor', audit: 'pipeline_created' },
  { method: 'GET', path: PL, access: 'viewer' },
  { method: 'PATCH', path: PL, access: 'editor', audit: 'pipeline_renamed' },
  { method: 'DELETE', path: PL, access: 'editor', audit: 'pipeline_deleted' },
  { method: 'GET', path: `${PL}/editor`, access: 'viewer' },
  { method: 'POST', path: `${PL}/edits`, access: 'editor', audit: 'pipeline_edited' },
  { method: 'GET', path: `${PL}/blocks/[block]`, access: 'viewer' },
  { method: 'PUT', path: `${PL}/blocks/[block]`, access: 'editor', audit: 'file_saved' },
  // Conditionals' and callbacks' code: the same file API, and the same roles, as blocks'.
  { method: 'GET', path: `${PL}/add-ons/[kind]/[addon]`, access: 'viewer' },
  { method: 'PUT', path: `${PL}/add-ons/[kind]/[addon]`, access: 'editor', audit: 'file_saved' },
  { method: 'GET', path: `${PL}/triggers`, access: 'viewer' },
  { method: 'POST', path: `${PL}/triggers`, access: 'editor', audit: 'trigger_created' },
  { method: 'PATCH', path: `${PL}/triggers/[trigger]`, access: 'editor', audit: 'trigger_changed' },
  { method: 'DELETE', path: `${PL}/triggers/[trigger]`, access: 'editor', audit: 'trigger_deleted' },
  // A trigger's token lets anyone holding it start runs: minting one is an owner's act.
  { method: 'POST', path: `${PL}/triggers/[trigger]/token`, access: 'owner', audit: 'trigger_token_rotated' },
  { method: 'POST', path: `${PL}/triggers/[trigger]/runs`, access: 'trigger_token', audit: 'run_started' },
  { method: 'GET', path: '/api/runs', access: 'viewer' },
  { method: 'POST', path: '/api/runs', access: 'editor', audit: 'run_started' },
  { method: 'GET', path: '/api/runs/[id]', access: 'viewer' },
  { method: 'POST', path: '/api/runs/[id]/actions', access: 'editor', audit: 'run_action' },
  { method: 'GET', path: '/api/runs/[id]/logs', access: 'viewer' },
  { method: 'GET', path: '/api/runs/[id]/children', access: 'viewer' },
  { method: 'GET', path: '/api/runs/[id]/code', access: 'viewer' },
  // Writes a run's pinned file back into the project: the same power as saving it in the editor.
  { method: 'POST', path: '/api/runs/[id]/code/restore', access: 'editor', audit: 'run_code_restored' },
  { method: 'GET', path: '/api/runs/backfills', access: 'viewer' },
  { method: 'POST', path: '/api/runs/backfills', access: 'editor', audit: 'backfill_created' },
  // The workers page's data: hosts, pids and what each process runs; read-only, like the runs.
  { method: 'GET', path: '/api/workers', access: 'viewer' },
  // Disk used and retention (lib/retention): anyone may look; sweeping deletes runs and logs, an owner's act.
  { method: 'GET', path: '/api/disk', access: 'viewer' },
  { method: 'POST', path: '/api/disk/sweep', access: 'owner', audit: 'retention_swept' },
  // Personal API tokens: editors and owners make their own; owners may revoke anyone's.
  { method: 'GET', path: '/api/tokens', access: 'editor' },
  { method: 'POST', path: '/api/tokens', access: 'editor', audit: 'api_token_created' },
  { method: 'DELETE', path: '/api/tokens/[id]', access: 'editor', audit: 'api_token_revoked' },
  { method: 'GET', path: '/api/users', access: 'owner' },
  { method: 'POST', path: '/api/users', access: 'owner', audit: 'user_added' },
  { method: 'PATCH', path: '/api/users/[name]', access: 'owner', audit: 'user_changed' },
  { method: 'DELETE', path: '/api/users/[name]', access: 'owner', audit: 'user_removed' },
  { method: 'GET', path: '/api/secrets', access: 'owner' },
  { method: 'PUT', path: '/api/secrets/[name]', access: 'owner', audit: 'secret_set' },
  { method: 'DELETE', path: '/api/secrets/[name]', access: 'owner', audit: 'secret_removed' },
  { method: 'GET', path: '/api/audit', access: 'owner' },
  // Prometheus scrapes with a bearer API token (or GRIMOIRE_TOKEN); counts only, no names of projects or users.
  { method: 'GET', path: '/metrics', access: 'viewer' },
  // Pages.
  { method: 'GET', path: '/', access: 'viewer', page: true },
  { method: 'GET', path: '/settings', access: 'viewer', page: true },
  { method: 'GET', path: '/projects/[project]', access: 'viewer', page: true },
  { method: 'GET', path: '/projects/[project]/pipelines/[pipeline]', access: 'viewer', page: true },
  { method: 'GET', path: '/projects/[project]/pipelines/[pipeline]/runs', access: 'viewer', page: true },
  { method: 'GET', path: '/projects/[project]/pipelines/[pipeline]/triggers', access: 'viewer', page: true },
  { method: 'GET', path: '/runs/[id]', access: 'viewer', page: true },
  { method: 'GET', path: '/disk', access: 'viewer', page: true },
  { method: 'GET', path: '/workers', access: 'viewer', page: true },
];

/**
 * Files served as they are, to anyone: the build's hashed assets (JavaScript, CSS, fonts, Monaco's
 * workers). Matched on whole segments of a canonical path, never by suffix.
 */
export const PUBLIC_PREFIXES: readonly string[] = ['/_next/static/'];
export const PUBLIC_FILES: readonly string[] = ['/favicon.ico'];

/** Every socket message type (lib/protocol/messages.ts) with the role it needs. */
export const SOCKET_RULES: { readonly [T in ClientMessage['type']]: Role } = {
  subscribe: 'viewer',
  query_output: 'viewer',
  watch_run: 'viewer',
  watch_runs: 'viewer',
  run_block: 'editor',
  run_with_upstream: 'editor',
  run_downstream: 'editor',
  run_pipeline: 'editor',
  interrupt: 'editor',
  restart: 'editor',
};

export type RouteMatch = { rule: HttpRule; params: Record<string, string> };

function matchRule(rule: HttpRule, segments: readonly string[]): Record<string, string> | null {
  const pattern = rule.path === '/' ? [] : rule.path.slice(1).split('/');
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? '';
    const s = segments[i] ?? '';
    if (p.startsWith('[') && p.endsWith(']')) params[p.slice(1, -1)] = s;
    else if (p !== s) return null;
  }
  return params;
}

/** Literal segments outrank parameters, as in Next's router (/api/runs/backfills before /api/runs/[id]). */
function specificity(rule: HttpRule): string {
  return (rule.path === '/' ? [] : rule.path.slice(1).split('/')).map((p) => (p.startsWith('[') ? '0' : '1')).join('');
}

/**
 * The rule for a method and a canonical path's decoded segments (see canonicalPath), or null.
 * HEAD is looked up as GET. `methodsAt` lists the methods the path has rules for (for a 405).
 */
export function findHttpRule(method: string, segments: readonly string[]): { match: RouteMatch | null; methodsAt: HttpMethod[] } {
  const wanted = method === 'HEAD' ? 'GET' : method;
  const candidates: RouteMatch[] = [];
  for (const rule of HTTP_RULES) {
    const params = matchRule(rule, segments);
    if (params) candidates.push({ rule, params });
  }
  if (candidates.length === 0) return { match: null, methodsAt: [] };
  // The most specific path wins for every method, so a literal route never falls back to a parameter.
  const best = candidates.reduce((a, b) => (specificity(b.rule) > specificity(a.rule) ? b : a));
  const atBest = candidates.filter((c) => c.rule.path === best.rule.path);
  return { match: atBest.find((c) => c.rule.method === wanted) ?? null, methodsAt: atBest.map((c) => c.rule.method) };
}

export type CanonicalPath = { ok: true; segments: string[]; path: string } | { ok: false; reason: string };

/**
 * Splits a request path into decoded segments, refusing every form that a router could read
 * differently from us: bad or encoded separators (%2F, %5C), dot segments (also encoded),
 * backslashes, NUL and control characters, empty segments (//, a trailing slash), and paths
 * that do not start with /. What passes names exactly one route, the same one Next will serve.
 */
export function canonicalPath(rawPath: string): CanonicalPath {
  if (!rawPath.startsWith('/')) return { ok: false, reason: 'the path must start with /' };
  if (rawPath === '/') return { ok: true, segments: [], path: '/' };
  const raw = rawPath.slice(1).split('/');
  const segments: string[] = [];
  for (const part of raw) {
    if (part === '') return { ok: false, reason: 'the path has an empty segment (// or a trailing /)' };
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return { ok: false, reason: 'the path has malformed percent-encoding' };
    }
    if (decoded === '.' || decoded === '..') return { ok: false, reason: 'the path has a . or .. segment' };
    if (/[/\\]/.test(decoded)) return { ok: false, reason: 'the path has an encoded / or a \\' };
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(decoded)) return { ok: false, reason: 'the path has a NUL or control character' };
    segments.push(decoded);
  }
  return { ok: true, segments, path: rawPath };
}

/** True for the build's static files: whole-segment prefixes of a canonical path, never suffixes. */
export function isPublicFile(path: string): boolean {
  return PUBLIC_FILES.includes(path) || PUBLIC_PREFIXES.some((prefix) => path.startsWith(prefix) && path.length > prefix.length);
}
