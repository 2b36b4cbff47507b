/**
 * The code a run pinned, as the run page reads it and restores it (issue 14, part 4), against a real
 * Postgres: two runs pin two versions, the files change, and each run still shows and restores what
 * it ran, through the editor's save path (guard, compare-and-swap, broadcast). Also the runs list's
 * filter by kind and who started each run (part 3).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { GET as getCode } from '../../app/api/runs/[id]/code/route';
import { POST as postRestore } from '../../app/api/runs/[id]/code/restore/route';
import { GET as listRuns, POST as postRun } from '../../app/api/runs/route';
import { AccessStore } from '../../lib/access/access-store';
import { systemClock } from '../../lib/clock';
import { runCode } from '../../lib/runs/run-code';
import { setOrchestration } from '../../lib/scheduler/slot';
import { setBroadcast } from '../../lib/server/broadcast';
import { type ServerMessage } from '../../lib/protocol/messages';
import { codeHash } from '../../lib/store/code-repository';
import { type Store } from '../../lib/store/store';
import { gatePrincipalHeaders } from '../support/socket-access';
import { testStore } from '../support/store';
import { writeProject } from '../support/write-project';

const METADATA_V1 = `name: etl
uuid: etl
type: batch
blocks:
  - uuid: load
    type: data_loader
    language: typescript
    upstream_blocks: []
  - uuid: clean
    type: transformer
    language: sql
    upstream_blocks: [load]
`;
// Run 2 ran after `load` was renamed to `load_taxi`.
const METADATA_V2 = METADATA_V1.replace('uuid: load\n', 'uuid: load_taxi\n').replace('[load]', '[load_taxi]');
const LOAD_V1 = 'export default function load() {\n  return [{ x: 1 }];\n}\n';
const LOAD_V2 = 'export default function load_taxi() {\n  return [{ x: 2 }];\n}\n';
const LOAD_V3 = 'export default function load_taxi() {\n  return [{ x: 3 }];\n}\n';
const CLEAN = 'SELECT x FROM {{ df_1 }}\n';

let db: Awaited<ReturnType<typeof testStore>>;
let store: Store;
let project: Awaited<ReturnType<typeof writeProject>>;
const broadcasts: ServerMessage[] = [];
const previousProjects = process.env.GRIMOIRE_PROJECTS;
const run1 = randomUUID();
const run2 = randomUUID();
const broken = randomUUID();
let userId = '';

const file = (rel: string) => readFile(path.join(project.dir, rel), 'utf8');
const params = (id: string) => ({ params: Promise.resolve({ id }) });
const request = (method: string, url: string, body?: unknown) =>
  new Request(`http://grimoire.test${url}`, { method, headers: { 'content-type': 'application/json', ...gatePrincipalHeaders('editor') }, body: body === undefined ? undefined : JSON.stringify(body) });
const restore = (id: string, body: unknown) => postRestore(request('POST', `/api/runs/${id}/code/restore`, body), params(id));

const codeAnswer = z.object({
  files: z.array(z.object({ path: z.string(), hash: z.string(), content: z.string(), current: z.string().nullable(), current_version: z.string() })),
  blocks: z.record(z.string(), z.string()),
});
const errorAnswer = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const runsAnswer = z.object({ runs: z.array(z.object({ id: z.string(), kind: z.string(), started_by: z.string().nullable(), started_by_name: z.string().nullable() })) });

async function startRun(id: string, kind: 'editor' | 'cli', startedBy: string, files: { path: string; content: string }[]) {
  await store.runs.createLive({ id, project: 'proj', pipeline: 'etl', kind, executionDate: new Date(), variables: {}, startedBy, ownerId: 'test-owner', blocks: ['load'] });
  await store.code.pin(id, files);
}

before(async () => {
  db = await testStore();
  store = db.store;
  project = await writeProject('proj', { 'pipelines/etl/metadata.yaml': METADATA_V1, 'data_loaders/load.ts': LOAD_V1, 'transformers/clean.sql': CLEAN });
  // The editor's save path finds projects where `grimoire start` put them.
  process.env.GRIMOIRE_PROJECTS = project.root;
  setOrchestration({ store, scheduler: null, worker: null, projectsDir: project.root, clock: systemClock, triggersChanged: () => undefined, close: async () => undefined });
  setBroadcast((m) => broadcasts.push(m));

  const access = new AccessStore(store.pool);
  await access.addUser('ada', 'owner', 'correct horse battery');
  const ids = await store.pool.query<{ id: string }>("SELECT id FROM users WHERE name = 'ada'");
  userId = ids.rows[0]?.id ?? '';

  await startRun(run1, 'editor', userId, [
    { path: 'pipelines/etl/metadata.yaml', content: METADATA_V1 },
    { path: 'data_loaders/load.ts', content: LOAD_V1 },
    { path: 'transformers/clean.sql', content: CLEAN },
  ]);
  // The block is renamed (its file moves) and edited; run 2 runs that.
  await rm(path.join(project.dir, 'data_loaders/load.ts'));
  await writeFile(path.join(project.dir, 'data_loaders/load_taxi.ts'), LOAD_V2);
  await writeFile(path.join(project.dir, 'pipelines/etl/metadata.yaml'), METADATA_V2);
  await startRun(run2, 'cli', 'cli:grace', [
    { path: 'pipelines/etl/metadata.yaml', content: METADATA_V2 },
    { path: 'data_loaders/load_taxi.ts', content: LOAD_V2 },
    { path: 'transformers/clean.sql', content: CLEAN },
  ]);
  // Then edited again after run 2.
  await writeFile(path.join(project.dir, 'data_loaders/load_taxi.ts'), LOAD_V3);
  await startRun(broken, 'editor', 'start-token', [{ path: 'pipelines/etl/metadata.yaml', content: 'blocks: [\n' }]);
});

after(async () => {
  setBroadcast(undefined);
  setOrchestration(undefined);
  if (previousProjects === undefined) delete process.env.GRIMOIRE_PROJECTS;
  else process.env.GRIMOIRE_PROJECTS = previousProjects;
  await project?.cleanup();
  await db?.close();
});

describe('the code a run ran', () => {
  test('each run shows what it ran beside the file now, and its blocks map to files through its own metadata.yaml', async () => {
    const res = await getCode(request('GET', `/api/runs/${run2}/code`), params(run2));
    assert.equal(res.status, 200);
    const code = codeAnswer.parse(await res.json());
    assert.deepEqual(code.files.map((f) => f.path), ['data_loaders/load_taxi.ts', 'pipelines/etl/metadata.yaml', 'transformers/clean.sql']);
    const load = code.files.find((f) => f.path === 'data_loaders/load_taxi.ts');
    assert.equal(load?.content, LOAD_V2);
    assert.equal(load?.current, LOAD_V3);
    assert.equal(load?.hash, codeHash(LOAD_V2));
    assert.equal(code.files.find((f) => f.path === 'transformers/clean.sql')?.current, CLEAN);
    assert.deepEqual(code.blocks, { load_taxi: 'data_loaders/load_taxi.ts', clean: 'transformers/clean.sql' });

    // Run 1's block `load` is gone from the pipeline and its file was moved: it still maps, and `current` says gone.
    const old = await runCode(store, run1);
    assert.deepEqual(old.blocks, { load: 'data_loaders/load.ts', clean: 'transformers/clean.sql' });
    const gone = old.files.find((f) => f.path === 'data_loaders/load.ts');
    assert.equal(gone?.content, LOAD_V1);
    assert.equal(gone?.current, null);
    assert.equal(gone?.current_version, 'missing');
  });

  test('an unknown run is 404', async () => {
    const res = await getCode(request('GET', '/api/runs/nope/code'), params(randomUUID()));
    assert.equal(res.status, 404);
  });
});

describe('restore this version', () => {
  test('a version the page did not see is refused (409) and nothing is written', async () => {
    const res = await restore(run2, { path: 'data_loaders/load_taxi.ts', version: 'not-the-version' });
    assert.equal(res.status, 409);
    const answer = errorAnswer.parse(await res.json());
    assert.equal(answer.error.message, 'data_loaders/load_taxi.ts changed since this page loaded it: reload the run page to see its text now, then restore again');
    assert.equal(await file('data_loaders/load_taxi.ts'), LOAD_V3);
  });

  test('a block file is written back as the run ran it, and the open tabs are told', async () => {
    const code = await runCode(store, run2);
    const shown = code.files.find((f) => f.path === 'data_loaders/load_taxi.ts');
    broadcasts.length = 0;
    const res = await restore(run2, { path: 'data_loaders/load_taxi.ts', version: shown?.current_version });
    assert.equal(res.status, 200);
    assert.equal(await file('data_loaders/load_taxi.ts'), LOAD_V2);
    assert.deepEqual(
      broadcasts.map((m) => (m.type === 'file_changed' ? { type: m.type, project: m.project, pipeline: m.pipeline, file: m.file } : { type: m.type })),
      [{ type: 'file_changed', project: 'proj', pipeline: 'etl', file: 'data_loaders/load_taxi.ts' }],
    );
    const after = await runCode(store, run2);
    assert.equal(after.files.find((f) => f.path === 'data_loaders/load_taxi.ts')?.current, LOAD_V2);
  });

  test("a file that is gone is made again; metadata.yaml is restored through the pipeline's save path", async () => {
    assert.equal((await restore(run1, { path: 'data_loaders/load.ts' })).status, 200);
    assert.equal(await file('data_loaders/load.ts'), LOAD_V1);
    broadcasts.length = 0;
    const res = await restore(run1, { path: 'pipelines/etl/metadata.yaml' });
    assert.equal(res.status, 200);
    assert.equal(await file('pipelines/etl/metadata.yaml'), METADATA_V1);
    assert.deepEqual(broadcasts.map((m) => m.type), ['pipeline_changed']);
  });

  test('a pinned metadata.yaml that is no pipeline is refused (422) and the file stays', async () => {
    const res = await restore(broken, { path: 'pipelines/etl/metadata.yaml' });
    assert.equal(res.status, 422);
    assert.equal(await file('pipelines/etl/metadata.yaml'), METADATA_V1);
  });

  test('a file the run did not run is 404, a path that leaves the project is 400, a bad body is 400', async () => {
    const notPinned = await restore(run2, { path: 'data_loaders/load.ts' });
    assert.equal(notPinned.status, 404);
    assert.match(errorAnswer.parse(await notPinned.json()).error.message, /did not run data_loaders\/load\.ts/);
    for (const bad of ['../x', '../../etc/passwd', '/etc/passwd', 'data_loaders/../../x']) {
      const res = await restore(run2, { path: bad });
      assert.equal(res.status, 400, bad);
      assert.equal(errorAnswer.parse(await res.json()).error.code, 'invalid_input');
    }
    assert.equal((await restore(run2, { file: 'data_loaders/load_taxi.ts' })).status, 400);
    assert.equal((await restore(randomUUID(), { path: 'data_loaders/load_taxi.ts' })).status, 404);
  });
});

describe('the runs list', () => {
  test('filters by every kind, and says who started each run', async () => {
    const list = async (query: string) => {
      const res = await listRuns(request('GET', `/api/runs?project=proj&pipeline=etl${query}`));
      assert.equal(res.status, 200, query);
      return runsAnswer.parse(await res.json()).runs;
    };
    const all = await list('');
    assert.equal(all.length, 3);
    const editor = await list('&kind=editor');
    assert.deepEqual(new Set(editor.map((r) => r.id)), new Set([run1, broken]));
    assert.equal(editor.find((r) => r.id === run1)?.started_by_name, 'ada');
    assert.equal(editor.find((r) => r.id === broken)?.started_by_name, 'start token');
    const cli = await list('&kind=cli');
    assert.deepEqual(cli.map((r) => [r.id, r.kind, r.started_by_name]), [[run2, 'cli', 'grace (grimoire run)']]);
    assert.deepEqual(await list('&kind=scheduled'), []);
    const bad = await listRuns(request('GET', '/api/runs?kind=nope'));
    assert.equal(bad.status, 400);
  });

  test('a manual run is recorded as started by whoever asked for it', async () => {
    const req = new Request('http://grimoire.test/api/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gatePrincipalHeaders('editor', userId) },
      body: JSON.stringify({ project: 'proj', pipeline: 'etl' }),
    });
    const res = await postRun(req);
    assert.equal(res.status, 200);
    const manual = runsAnswer.parse(await (await listRuns(request('GET', '/api/runs?project=proj&kind=manual'))).json()).runs;
    assert.deepEqual(manual.map((r) => [r.started_by, r.started_by_name]), [[userId, 'ada']]);
  });
});
