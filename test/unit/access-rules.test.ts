/**
 * The role table against the code: every route file's methods, every page and every socket
 * message type has exactly one rule, and no rule names something that does not exist. A new
 * route without a rule fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { canonicalPath, findHttpRule, HTTP_RULES, isPublicFile, SOCKET_RULES } from '../../lib/access/rules';
import { clientMessageSchema } from '../../lib/protocol/messages';

const APP = path.resolve(__dirname, '..', '..', 'app');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Route files and pages under app/ as [method, path] pairs, in app-router terms. */
export function declaredRoutes(): { method: string; path: string; page: boolean }[] {
  const out: { method: string; path: string; page: boolean }[] = [];
  for (const file of walk(APP)) {
    const rel = path.relative(APP, path.dirname(file)).split(path.sep).filter((s) => s !== '');
    const url = `/${rel.join('/')}`;
    if (path.basename(file) === 'route.ts') {
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/export (?:async )?function (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b/g)) out.push({ method: m[1] ?? '', path: url, page: false });
    } else if (path.basename(file) === 'page.tsx') {
      out.push({ method: 'GET', path: url, page: true });
    }
  }
  return out;
}

test('every route method and page under app/ has exactly one rule, and every rule has its route', () => {
  const declared = declaredRoutes();
  assert.ok(declared.length > 40, `found only ${declared.length} routes: is app/ where it was?`);
  for (const d of declared) {
    const rules = HTTP_RULES.filter((r) => r.method === d.method && r.path === d.path);
    assert.equal(rules.length, 1, `${d.method} ${d.path} needs exactly one rule in lib/access/rules.ts (has ${rules.length})`);
    assert.equal(rules[0]?.page === true, d.page, `${d.method} ${d.path}: page flag`);
  }
  for (const r of HTTP_RULES) {
    assert.ok(declared.some((d) => d.method === r.method && d.path === r.path), `rule ${r.method} ${r.path} names no route under app/`);
  }
});

test('every state-changing rule has an audit name, and only the sign-in and health routes are open', () => {
  for (const r of HTTP_RULES) if (r.method !== 'GET') assert.ok(r.audit || r.path === '/api/auth/login', `${r.method} ${r.path} has no audit name`);
  const open = HTTP_RULES.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(open.sort(), ['GET /api/health', 'GET /login', 'POST /api/auth/login']);
  const byToken = HTTP_RULES.filter((r) => r.access === 'trigger_token').map((r) => r.path);
  assert.deepEqual(byToken, ['/api/projects/[project]/pipelines/[pipeline]/triggers/[trigger]/runs']);
});

test('every socket message type has a rule; running and stopping need an editor, reading a viewer', () => {
  const types = clientMessageSchema.options.map((o) => o.shape.type.value).sort();
  assert.deepEqual(Object.keys(SOCKET_RULES).sort(), types);
  for (const t of ['run_block', 'run_with_upstream', 'run_downstream', 'run_pipeline', 'interrupt', 'restart'] as const) assert.equal(SOCKET_RULES[t], 'editor');
  for (const t of ['subscribe', 'query_output', 'watch_run', 'watch_runs'] as const) assert.equal(SOCKET_RULES[t], 'viewer');
});

test('users, secrets, audit and trigger tokens are an owner’s; edits and runs an editor’s', () => {
  const access = (method: string, p: string) => HTTP_RULES.find((r) => r.method === method && r.path === p)?.access;
  assert.equal(access('POST', '/api/users'), 'owner');
  assert.equal(access('PUT', '/api/secrets/[name]'), 'owner');
  assert.equal(access('GET', '/api/audit'), 'owner');
  assert.equal(access('POST', '/api/projects/[project]/pipelines/[pipeline]/triggers/[trigger]/token'), 'owner');
  assert.equal(access('PUT', '/api/projects/[project]/pipelines/[pipeline]/blocks/[block]'), 'editor');
  assert.equal(access('POST', '/api/runs'), 'editor');
  assert.equal(access('GET', '/api/runs/[id]/logs'), 'viewer');
});

test('a literal segment outranks a parameter, and the method must match', () => {
  const seg = (p: string) => {
    const c = canonicalPath(p);
    assert.ok(c.ok);
    return c.segments;
  };
  assert.equal(findHttpRule('GET', seg('/api/runs/backfills')).match?.rule.path, '/api/runs/backfills');
  assert.equal(findHttpRule('GET', seg('/api/runs/abc')).match?.rule.path, '/api/runs/[id]');
  assert.deepEqual(findHttpRule('GET', seg('/api/runs/abc')).match?.params, { id: 'abc' });
  // POST /api/runs/<id> has no rule, and must not fall through to another path.
  const post = findHttpRule('POST', seg('/api/runs/abc'));
  assert.equal(post.match, null);
  assert.deepEqual(post.methodsAt, ['GET']);
  assert.equal(findHttpRule('HEAD', seg('/')).match?.rule.path, '/');
  assert.equal(findHttpRule('GET', seg('/api/projects/x/pipelines/y/blocks/z/extra')).match, null);
  assert.equal(findHttpRule('GET', seg('/api/health/x')).match, null);
});

test('paths a router could read differently from us are refused before any rule is looked up', () => {
  const refused = [
    '/api/projects/..%2F..%2Fetc/files',
    '/api/projects/%2e%2e/files',
    '/_next/static/../../api/projects',
    '/api/projects/a%5Cb/files',
    '/api/projects/a\\b/files',
    '/api/projects/%00/files',
    '/api/projects/%E0%A4%A/files',
    '/api//projects',
    '/api/projects/',
    'api/projects',
    '/api/./projects',
  ];
  for (const p of refused) assert.equal(canonicalPath(p).ok, false, p);
  const ok = canonicalPath('/api/projects/my%20proj/files');
  assert.ok(ok.ok);
  assert.deepEqual(ok.segments, ['api', 'projects', 'my proj', 'files']);
});

test('static files are matched on whole prefixes, never by suffix', () => {
  assert.equal(isPublicFile('/_next/static/chunks/app.js'), true);
  assert.equal(isPublicFile('/_next/static/'), false);
  assert.equal(isPublicFile('/api/runs/_next/static/x.js'), false);
  assert.equal(isPublicFile('/api/runs.js'), false);
  assert.equal(isPublicFile('/favicon.ico'), true);
});
