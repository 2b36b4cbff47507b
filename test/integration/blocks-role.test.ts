/**
 * Blocks reach the embedded PostgreSQL through a login of their own: they can make and replace
 * tables, but cannot read Grimoire's metadata (users, sessions, secrets), and the server's own
 * password never reaches them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { openDatabase, type Database } from '../../lib/db/database';
import { Store } from '../../lib/store/store';

let folder: string;
let database: Database;

before(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'grimoire-blocks-role-'));
  const env = { ...process.env };
  delete env.DATABASE_URL;
  database = await openDatabase(folder, env);
  const store = await Store.open({ url: database.url });
  await store.pool.query("INSERT INTO users (id, name, role, password_hash) VALUES ('u1', 'ana', 'owner', 'scrypt$x')");
  await store.close();
});

after(async () => {
  await database?.close();
  await rm(folder, { recursive: true, force: true });
});

function blocksClient(): pg.Client {
  const e = database.kernelEnv;
  return new pg.Client({ host: e.POSTGRES_HOST, port: Number(e.POSTGRES_PORT), user: e.POSTGRES_USER, password: e.POSTGRES_PASSWORD, database: e.POSTGRES_DBNAME });
}

test('blocks get their own login, never the server’s password', async () => {
  const serverPassword = (await readFile(path.join(folder, 'postgres.password'), 'utf8')).trim();
  assert.equal(database.kernelEnv.POSTGRES_USER, 'grimoire_blocks');
  assert.notEqual(database.kernelEnv.POSTGRES_PASSWORD, serverPassword);
  assert.ok(!Object.values(database.kernelEnv).includes(serverPassword));
});

test('the blocks’ login makes and replaces tables, but cannot read Grimoire’s metadata', async () => {
  const c = blocksClient();
  await c.connect();
  try {
    await c.query('CREATE SCHEMA IF NOT EXISTS mage');
    await c.query('CREATE TABLE mage.trips AS SELECT 1 AS n');
    await c.query('DROP TABLE mage.trips');
    await c.query('CREATE TABLE public.t AS SELECT 1 AS n');
    await assert.rejects(c.query('SELECT * FROM grimoire.users'), /permission denied/);
    await assert.rejects(c.query('SELECT * FROM grimoire.secrets'), /permission denied/);
    await assert.rejects(c.query('CREATE ROLE sneaky SUPERUSER'), /permission denied/);
  } finally {
    await c.end();
  }
});

test('a schema made by the superuser before the login existed is handed to the blocks on the next open', async () => {
  const admin = new pg.Client({ ...database.coordinates });
  await admin.connect();
  await admin.query('CREATE SCHEMA legacy; CREATE TABLE legacy.old AS SELECT 1 AS n');
  await admin.end();
  const again = await openDatabase(folder, { ...process.env, DATABASE_URL: '' });
  const c = blocksClient();
  await c.connect();
  try {
    await c.query('DROP TABLE legacy.old');
    await c.query('CREATE TABLE legacy.new AS SELECT 2 AS n');
  } finally {
    await c.end();
    await again.close();
  }
});

test('with DATABASE_URL, blocks get no POSTGRES_* defaults: those credentials are the server’s', async () => {
  const external = await openDatabase(folder, { ...process.env, DATABASE_URL: 'postgres://owner:hunter2hunter2@127.0.0.1:5999/meta' });
  assert.deepEqual(external.kernelEnv, {});
});
