/**
 * Sign-in as a user meets it: `grimoire start` prints a token link (and no password), refuses a
 * wide bind without an owner, `grimoire users add` makes one, and the browser signs in on the
 * sign-in page. Runs the real bin/grimoire.js and Chromium.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser } from '../support/browser';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'grimoire.js');
let root: string;
const children: ChildProcess[] = [];

/** The environment a user's shell has: none of the test runner's Grimoire settings. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of Object.keys(env)) if (k.startsWith('GRIMOIRE_') && !(k in extra)) delete env[k];
  delete env.DATABASE_URL;
  return env;
}

function run(args: string[], input = '', extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: userEnv(extra), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdin.end(input);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a server and resolves with its first lines once it says where it runs. */
function startServer(args: string[], extra: Record<string, string> = {}): Promise<{ child: ChildProcess; stdout: () => string }> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--projects', root, ...args], { env: userEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      if (/PostgreSQL/.test(stdout)) resolve({ child, stdout: () => stdout });
    });
    child.on('exit', (code) => reject(new Error(`start exited ${code}: ${stdout}${stderr}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'grimoire-signin-'));
  const files: Record<string, string> = {
    'shop/metadata.yaml': 'project_name: shop\n',
    'shop/pipelines/p/metadata.yaml': 'blocks:\n  - { uuid: load, type: data_loader, language: sql }\n',
    'shop/data_loaders/load.sql': 'SELECT 1 AS n\n',
  };
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
});

after(async () => {
  for (const c of children) await stop(c);
  await rm(root, { recursive: true, force: true });
});

test('start with no users prints a token link, never the database password', async () => {
  const { child, stdout } = await startServer([]);
  const out = stdout();
  const link = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,})/.exec(out);
  assert.ok(link, out);
  const password = (await readFile(path.join(root, '.grimoire', 'postgres.password'), 'utf8')).trim();
  assert.ok(password.length > 10);
  assert.ok(!out.includes(password), 'the start-up lines show the database password');
  const base = new URL(link[1] ?? '').origin;
  assert.equal((await fetch(`${base}/api/projects`)).status, 401);
  const signedIn = await fetch(link[1] ?? '', { redirect: 'manual' });
  assert.equal(signedIn.status, 303);
  assert.equal(signedIn.headers.get('location'), '/');
  assert.match(signedIn.headers.get('set-cookie') ?? '', /grimoire_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
  await stop(child);
});

test('a wide bind without an owner exits 2 and says how to add one; users add makes one', async () => {
  const refused = await run(['start', '--host', '0.0.0.0', '--port', '0', '--projects', root]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /grimoire users add <name> --role owner/);
  assert.match(refused.stderr, /GRIMOIRE_OWNER=/);
  const bad = await run(['users', 'add', 'ana', '--role', 'admin', '--projects', root]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--role must be one of viewer, editor, owner/);
  const short = await run(['users', 'add', 'ana', '--role', 'owner', '--projects', root], 'short\n');
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /at least 8 characters/);
  const notOwner = await run(['users', 'add', 'ana', '--role', 'editor', '--projects', root], 'a long enough password\n');
  assert.equal(notOwner.code, 2);
  assert.match(notOwner.stderr, /the first user must be an owner/);
  const added = await run(['users', 'add', 'ana', '--role', 'owner', '--projects', root], 'a long enough password\n');
  assert.equal(added.code, 0, added.stderr);
  const listed = await run(['users', 'list', '--projects', root]);
  assert.match(listed.stdout, /^ana\towner\t/m);
  assert.ok(!listed.stdout.includes('a long enough password'));
  const demoted = await run(['users', 'role', 'ana', '--role', 'viewer', '--projects', root]);
  assert.equal(demoted.code, 2);
  assert.match(demoted.stderr, /last owner/);
  const unknown = await run(['users', 'role', 'nobody', '--role', 'editor', '--projects', root]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /user "nobody" not found/);
});

test('with users, the browser signs in on the sign-in page and lands where it was going', async () => {
  const { child, stdout } = await startServer([]);
  assert.doesNotMatch(stdout(), /\?token=/);
  const base = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout())?.[1] ?? '';
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${base}/settings`);
    assert.match(page.url(), /\/login\?next=%2Fsettings$/);
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.getByLabel('User name').fill('ana');
    await form.getByLabel('Password').fill('not the password');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong user name or password' }).waitFor();
    await form.getByLabel('Password').fill('a long enough password');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('region', { name: 'Account' }).getByText('Signed in as ana (owner)').waitFor();
    assert.equal(new URL(page.url()).pathname, '/settings');
    const cookies = await browser.context.cookies(base);
    const session = cookies.find((c) => c.name === 'grimoire_session');
    assert.ok(session?.httpOnly && session.sameSite === 'Strict');
    // The owner's Settings: a secret (its value never shown again), a user, a personal API token.
    const secrets = page.getByRole('region', { name: 'Secrets' });
    await secrets.getByLabel('Secret name', { exact: true }).fill('warehouse_password');
    await secrets.getByLabel('Value', { exact: true }).fill('s3cr3t-value-never-shown');
    await secrets.getByRole('button', { name: 'Save secret' }).click();
    await secrets.getByRole('list', { name: 'Secret names' }).getByText('warehouse_password').waitFor();
    const users = page.getByRole('region', { name: 'Users' });
    const newUser = users.getByRole('form', { name: 'New user' });
    await newUser.getByLabel('Name').fill('bea');
    await newUser.getByLabel('Role').selectOption('viewer');
    await newUser.getByLabel('Password').fill('bea has a long password');
    await newUser.getByRole('button', { name: 'Add user' }).click();
    await users.getByRole('list', { name: 'User list' }).getByText('bea').waitFor();
    const tokens = page.getByRole('region', { name: 'API tokens' });
    await tokens.getByLabel('Token name', { exact: true }).fill('nightly script');
    await tokens.getByRole('button', { name: 'Create token' }).click();
    const shown = ((await page.getByTestId('new-token').textContent()) ?? '').trim();
    assert.match(shown, /^grm_/);
    assert.equal((await fetch(`${base}/api/projects`, { headers: { authorization: `Bearer ${shown}` } })).status, 200);
    await page.reload();
    await page.getByRole('region', { name: 'Audit log' }).getByText('secret_set').first().waitFor();
    const html = await page.content();
    assert.ok(!html.includes('s3cr3t-value-never-shown'), 'the secret value reached the page');
    assert.ok(!html.includes(shown), 'the token was shown again');
    // Signing out ends the session: the next page asks again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/login/);
    // The viewer bea reads the pipeline, read-only; a run is refused with a message on the page.
    await page.goto(`${base}/login?next=${encodeURIComponent('/projects/shop/pipelines/p')}`);
    await form.getByLabel('User name').fill('bea');
    await form.getByLabel('Password').fill('bea has a long password');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('read-only').waitFor();
    assert.equal(new URL(page.url()).pathname, '/projects/shop/pipelines/p');
    await page.getByTestId('editor-load').locator('.monaco-editor').waitFor();
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    await page.getByRole('alert').filter({ hasText: 'needs the editor role; you are a viewer' }).waitFor();
    const settings = await fetch(`${base}/api/users`, { headers: { cookie: (await browser.context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ') } });
    assert.equal(settings.status, 403);
  } finally {
    await browser.close();
    await stop(child);
  }
});
