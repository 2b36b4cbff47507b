import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { guardPath, safeJoin } from '../../lib/access/path-guard';
import { UserError } from '../../lib/errors';
import { readBlockFile, saveBlockFile } from '../../lib/project/block-files';
import { MISSING_VERSION } from '../../lib/project/versions';

let root: string;
let project: string;
let outside: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'grimoire-guard-'));
  project = path.join(root, 'projects', 'shop');
  outside = path.join(root, 'outside');
  await mkdir(path.join(project, 'data_loaders'), { recursive: true });
  await mkdir(path.join(project, 'pipelines', 'p'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET\n');
  await writeFile(path.join(project, 'metadata.yaml'), 'project_name: shop\n');
  await writeFile(path.join(project, 'pipelines', 'p', 'metadata.yaml'), 'blocks:\n  - { uuid: load, type: data_loader, language: sql }\n  - { uuid: link, type: data_loader, language: sql }\n');
  await writeFile(path.join(project, 'data_loaders', 'load.sql'), 'SELECT 1\n');
  // A block file that is a link to a file outside the project, and a folder link leaving it.
  await symlink(path.join(outside, 'secret.txt'), path.join(project, 'data_loaders', 'link.sql'));
  await symlink(outside, path.join(project, 'escape'));
  await symlink(path.join(project, 'data_loaders'), path.join(project, 'inside_link'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const refusal = (e: unknown) => e instanceof UserError && e.code === 'invalid_input';

test('dot segments, encoded forms, absolute paths, backslashes and NUL are refused', () => {
  const bad = ['../outside/secret.txt', 'data_loaders/../../outside', '..', '%2e%2e/outside', 'data_loaders%2f..%2f..', '/etc/passwd', 'a\\..\\b', 'data_loaders/x\u0000.sql', 'C:/x', '', 'data_loaders//load.sql', './load.sql'];
  for (const p of bad) assert.throws(() => guardPath(project, p), refusal, JSON.stringify(p));
  for (const n of ['..', '.', 'a/b', '%2e%2e', 'x\u0000', '', '.hidden/..']) assert.throws(() => safeJoin(project, n), refusal, JSON.stringify(n));
});

test('a path through a link that leaves the root is refused; a link that stays inside is fine', () => {
  assert.throws(() => guardPath(project, 'escape/secret.txt'), /link that leaves/);
  assert.throws(() => guardPath(project, 'escape/new-file.txt'), /link that leaves/);
  assert.throws(() => guardPath(project, 'data_loaders/link.sql'), /link that leaves/);
  assert.throws(() => safeJoin(project, 'escape'), /link that leaves/);
  assert.equal(guardPath(project, 'inside_link/load.sql'), path.join(project, 'inside_link', 'load.sql'));
  assert.equal(guardPath(project, 'data_loaders/new_block.sql'), path.join(project, 'data_loaders', 'new_block.sql'));
});

test('a block file linked outside the project is neither read nor written', async () => {
  await assert.rejects(readBlockFile(project, 'p', 'link'), refusal);
  await assert.rejects(saveBlockFile(project, 'p', 'link', 'overwritten', MISSING_VERSION), refusal);
  const { readFile } = await import('node:fs/promises');
  assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'TOP SECRET\n');
  assert.equal((await readBlockFile(project, 'p', 'load')).content, 'SELECT 1\n');
});
