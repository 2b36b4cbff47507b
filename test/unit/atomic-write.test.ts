import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commitFile, draftOf, writeFileAtomic } from '../../lib/atomic-write';
import { leftoverOf } from '../../lib/project/leftovers';

let dir = '';
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'atomic-write-'));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  test('creates the folder, writes, replaces, and leaves no temp copy', async () => {
    const file = path.join(dir, 'a', 'b', 'metadata.yaml');
    await writeFileAtomic(file, 'one\n');
    await writeFileAtomic(file, Buffer.from('two\n'));
    assert.equal(await fs.readFile(file, 'utf8'), 'two\n');
    assert.deepEqual(await fs.readdir(path.dirname(file)), ['metadata.yaml']);
  });

  test('a failed write leaves the old file and no temp copy', async () => {
    const folder = path.join(dir, 'taken');
    await fs.mkdir(path.join(folder, 'x'), { recursive: true });
    // A folder in the way: the rename into place fails.
    await assert.rejects(writeFileAtomic(path.join(folder, 'x'), 'data'));
    assert.deepEqual(await fs.readdir(folder), ['x']);
  });
});

describe('draftOf / commitFile', () => {
  test('the draft sits beside the file, hidden, named so the start-up sweep knows its writer', async () => {
    const file = path.join(dir, 'out.parquet');
    const draft = draftOf(file);
    assert.equal(path.dirname(draft), dir);
    assert.equal(leftoverOf(path.basename(draft))?.pid, process.pid);
    await fs.writeFile(draft, 'PAR1');
    await commitFile(draft, file);
    assert.equal(await fs.readFile(file, 'utf8'), 'PAR1');
    await assert.rejects(fs.access(draft));
  });
});
