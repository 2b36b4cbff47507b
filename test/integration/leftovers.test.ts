/**
 * The start-up sweep of temp files a crash left (lib/project/leftovers.ts): a dead writer's go, a
 * live writer's stay, files without a writer go after an hour, user files that merely look alike
 * stay, and a lake folder set aside by an export that crashed is put back.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { leftoverOf, removeLeftovers, writerTag } from '../../lib/project/leftovers';

let root = '';
let live: ChildProcess;
let livePid = 0;
let deadPid = 0;

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'grimoire-it-leftovers-'));
  live = spawn('sleep', ['60'], { stdio: 'ignore' });
  livePid = live.pid ?? 0;
  const dead = spawn('true', [], { stdio: 'ignore' });
  deadPid = dead.pid ?? 0;
  await once(dead, 'exit');
  assert.ok(livePid > 0 && deadPid > 0);
});

after(async () => {
  live.kill('SIGKILL');
  await fs.rm(root, { recursive: true, force: true });
});

const HOURS_AGO = (hours: number) => new Date(Date.now() - hours * 3600_000);

async function put(relative: string, options: { folder?: boolean; hoursOld?: number } = {}): Promise<string> {
  const full = path.join(root, relative);
  if (options.folder) {
    await fs.mkdir(full, { recursive: true });
    await fs.writeFile(path.join(full, 'part_0.parquet'), 'rows');
  } else {
    await fs.mkdir(path.dirname(full), { recursive: true });
    await fs.writeFile(full, 'half written');
  }
  if (options.hoursOld !== undefined) {
    const when = HOURS_AGO(options.hoursOld);
    if (options.folder) await fs.utimes(path.join(full, 'part_0.parquet'), when, when);
    await fs.utimes(full, when, when);
  }
  return full;
}

async function present(relative: string): Promise<boolean> {
  return fs.lstat(path.join(root, relative)).then(
    () => true,
    () => false,
  );
}

test("a writer's tag names this process, and the names of every writer are recognised", () => {
  assert.equal(leftoverOf(`pipeline.yaml.${writerTag()}.tmp`)?.pid, process.pid);
  assert.equal(leftoverOf(`out.parquet.tmp-${writerTag()}`)?.pid, process.pid);
  assert.equal(leftoverOf('load.parquet.4242.tmp')?.pid, 4242);
  assert.equal(leftoverOf('load.parquet')?.pid, undefined);
  assert.equal(leftoverOf('notes.txt'), null);
});

test('the sweep removes only what crashed writers left, and puts back a set-aside lake folder', async () => {
  const project = 'proj';
  const data = `${project}/.grimoire`;
  // Removed: their writer is gone.
  const gone = [
    `${data}/cache/users/u1/p/load.parquet.${deadPid}.tmp`,
    `${data}/build/p/load.abc.cjs.${deadPid}.tmp`,
    `${project}/pipelines/p/.metadata.yaml.${deadPid}-0a1b2c3d.tmp`,
    `${data}/raw/taxi.csv.gz.${deadPid}-0a1b2c3d.part`,
  ];
  for (const f of gone) await put(f);
  await put(`${data}/lake/trips.tmp-${deadPid}-0a1b2c3d`, { folder: true });
  // Removed: no writer named, nothing changed for two hours.
  await put(`${project}/transformers/.clean.ts.0123456789ab.tmp`, { hoursOld: 2 });
  await put(`${data}/lake/old_export.tmp-0a1b2c3d`, { folder: true, hoursOld: 2 });
  // Kept: a live writer (another process, or this one), however old.
  const kept = [
    `${data}/cache/p/clean.parquet.${livePid}.tmp`,
    `${data}/cache/p/clean.parquet.${process.pid}.tmp`,
    `${project}/pipelines/p/.metadata.yaml.${livePid}-0a1b2c3d.tmp`,
    // Fresh and without a writer: maybe being written.
    `${project}/transformers/.fresh.ts.0123456789ab.tmp`,
    // Look-alikes that are not Grimoire's: a user's file outside the data folder, dependencies,
    // PostgreSQL's data folder, DuckDB's spill space.
    `${project}/reports/summary.${deadPid}.tmp`,
    `${project}/node_modules/pkg/.index.js.${deadPid}-0a1b2c3d.tmp`,
    `.grimoire/postgres/base/1.${deadPid}.tmp`,
    `${data}/tmp/duckdb-${deadPid}/block.${deadPid}.tmp`,
  ];
  for (const f of kept) await put(f);
  await put(`${data}/lake/live_export.tmp-${livePid}-0a1b2c3d`, { folder: true });
  // An export that crashed between its two renames: the old folder set aside, the new one not in place.
  await put(`${data}/lake/zones.old-${deadPid}-0a1b2c3d`, { folder: true });
  // One whose new folder did get in place: the set-aside copy is just leftover.
  await put(`${data}/lake/fares`, { folder: true });
  await put(`${data}/lake/fares.old-${deadPid}-0a1b2c3d`, { folder: true });

  const result = await removeLeftovers(root);

  for (const f of [...gone, `${data}/lake/trips.tmp-${deadPid}-0a1b2c3d`, `${project}/transformers/.clean.ts.0123456789ab.tmp`, `${data}/lake/old_export.tmp-0a1b2c3d`]) {
    assert.equal(await present(f), false, `${f} was left`);
  }
  for (const f of [...kept, `${data}/lake/live_export.tmp-${livePid}-0a1b2c3d`]) assert.equal(await present(f), true, `${f} was removed`);
  assert.equal(await present(`${data}/lake/zones/part_0.parquet`), true, 'the set-aside export was not put back');
  assert.equal(await present(`${data}/lake/fares.old-${deadPid}-0a1b2c3d`), false);
  assert.equal(await present(`${data}/lake/fares/part_0.parquet`), true);
  assert.deepEqual(result.restored, [path.join(root, data, 'lake', 'zones')]);
  assert.equal(result.removed.length, 8);

  // A second start finds nothing more to do; a missing root is no error.
  assert.deepEqual(await removeLeftovers(root), { removed: [], restored: [] });
  assert.deepEqual(await removeLeftovers(path.join(root, 'no-such-folder')), { removed: [], restored: [] });
});
