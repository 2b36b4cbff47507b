/** What a kernel inherits from the server's environment (lib/kernel/kernel-env.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelEnvironment, withheldFromKernels } from '../../lib/kernel/kernel-env';

test("a kernel gets none of Grimoire's own credentials, and keeps everything else", () => {
  const parent: NodeJS.ProcessEnv = {
    NODE_ENV: 'test',
    PATH: '/usr/bin',
    HOME: '/home/me',
    POSTGRES_PASSWORD: 'users-own',
    GRIMOIRE_SECRET_KEY: 'k'.repeat(64),
    GRIMOIRE_TOKEN: 'start-token',
    GRIMOIRE_OWNER_PASSWORD: 'owner-pw',
    GRIMOIRE_PROJECTS: '/srv/projects',
    GRIMOIRE_DUCKDB_MEMORY: '1GB',
    DATABASE_URL: 'postgres://u:p@h/db',
    TEST_DATABASE_URL: 'postgres://u:p@h/test',
    PGPASSWORD: 'pgpw',
  };
  const env = kernelEnvironment(parent, { POSTGRES_PASSWORD: 'default-pw', POSTGRES_HOST: '127.0.0.1' }, { GRIMOIRE_PIPELINE: 'p', GRIMOIRE_PROJECT_DIR: '/srv/projects/x' });
  for (const name of ['GRIMOIRE_SECRET_KEY', 'GRIMOIRE_TOKEN', 'GRIMOIRE_OWNER_PASSWORD', 'GRIMOIRE_PROJECTS', 'DATABASE_URL', 'TEST_DATABASE_URL', 'PGPASSWORD']) {
    assert.equal(env[name], undefined, name);
  }
  assert.equal(env.PATH, '/usr/bin');
  assert.equal(env.HOME, '/home/me');
  // The real environment wins over defaults; defaults fill what it lacks.
  assert.equal(env.POSTGRES_PASSWORD, 'users-own');
  assert.equal(env.POSTGRES_HOST, '127.0.0.1');
  // The host's own settings for the kernel, and the kernel's memory knob, pass.
  assert.equal(env.GRIMOIRE_PIPELINE, 'p');
  assert.equal(env.GRIMOIRE_PROJECT_DIR, '/srv/projects/x');
  assert.equal(env.GRIMOIRE_DUCKDB_MEMORY, '1GB');
  // The parent is not changed.
  assert.equal(parent.GRIMOIRE_TOKEN, 'start-token');
});

test('withheldFromKernels names the server-only variables', () => {
  assert.equal(withheldFromKernels('GRIMOIRE_ANYTHING_NEW'), true);
  assert.equal(withheldFromKernels('DATABASE_URL'), true);
  assert.equal(withheldFromKernels('PGPASSWORD'), true);
  assert.equal(withheldFromKernels('GRIMOIRE_DUCKDB_MEMORY'), false);
  assert.equal(withheldFromKernels('POSTGRES_HOST'), false);
});
