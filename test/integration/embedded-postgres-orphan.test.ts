/**
 * An embedded PostgreSQL whose owner was SIGKILLed is never left running without one: the next
 * start takes it over when it answers (and then stops it on close), or stops it and starts afresh
 * when it does not. A server another live process owns is joined, not taken.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../lib/db/embedded-postgres';
import { running } from '../../lib/db/postmaster';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
let folder = '';
let dataDir = '';

before(async () => {
  folder = await fs.mkdtemp(path.join(os.tmpdir(), 'grimoire-it-pg-orphan-'));
  dataDir = path.join(folder, 'postgres');
});

after(async () => {
  await fs.rm(folder, { recursive: true, force: true });
});

/** Starts the server from another process, SIGKILLs that process once the server is up, and returns the server's pid. */
async function orphanServer(): Promise<{ pid: number; port: number }> {
  const owner = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test', 'support', 'postgres-owner.ts'), dataDir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    owner.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /postgres (\d+)/.exec(out);
      if (m?.[1]) resolve(Number(m[1]));
    });
    owner.once('exit', (code) => reject(new Error(`the owner exited (${code}) before the server was up: ${out}`)));
  });
  owner.kill('SIGKILL');
  await new Promise((r) => owner.once('exit', r));
  const pid = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  assert.ok(running(pid), 'the server died with its owner: nothing to test');
  return { pid, port };
}

async function count(coordinates: pg.ClientConfig): Promise<number> {
  const client = new pg.Client({ ...coordinates, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const res = await client.query<{ n: number }>('SELECT 1::int AS n');
    return res.rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

test('a server whose owner was SIGKILLed is taken over by the next start, which then stops it', { timeout: 180_000 }, async () => {
  const orphan = await orphanServer();
  const server = await startEmbeddedPostgres(dataDir);
  assert.equal(server.owned, true, 'the next start must own the orphan, or nobody ever stops it');
  assert.equal(server.coordinates.port, orphan.port);
  assert.equal(await count(server.coordinates), 1);
  // Another process joining now sees a live owner: it joins and leaves the server alone.
  const joined = await startEmbeddedPostgres(dataDir);
  assert.equal(joined.owned, false);
  await server.stop();
  assert.equal(running(orphan.pid), false, 'the orphan still runs after its new owner stopped it');
  await assert.rejects(fs.access(path.join(dataDir, 'postmaster.pid')));
});

test('a server whose owner was SIGKILLed and that does not answer is stopped and a fresh one starts', { timeout: 180_000 }, async () => {
  const orphan = await orphanServer();
  // A hung server: it keeps its pid and port but answers nothing.
  process.kill(orphan.pid, 'SIGSTOP');
  try {
    const server = await startEmbeddedPostgres(dataDir);
    try {
      assert.equal(server.owned, true);
      assert.equal(running(orphan.pid), false, 'the hung server was left running');
      assert.equal(await count(server.coordinates), 1);
    } finally {
      await server.stop();
    }
  } finally {
    try {
      process.kill(orphan.pid, 'SIGKILL');
    } catch {
      // Stopped as it should be.
    }
  }
});
