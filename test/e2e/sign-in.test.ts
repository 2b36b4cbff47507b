/**
 * Sign-in as a user meets it: `grimoire start` prints a token link (and no password), refuses a
 * wide bind without an owner, `grimoire users add` makes one, and the browser signs in on the
 * sign-in page. Runs the real bin/grimoire.js and Chromium.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
  const added = await run(['users', 'add', 'ana', '--role', 'owner', '--projects', root], 'a long enough password\n');
  assert.equal(added.code, 0, added.stderr);
  const listed = await run(['users', 'list', '--projects', root]);
  assert.match(listed.stdout, /^ana\towner\t/m);
  assert.ok(!listed.stdout.includes('a long enough password'));
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
    // Signing out ends the session: the next page asks again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/login/);
  } finally {
    await browser.close();
    await stop(child);
  }
});
