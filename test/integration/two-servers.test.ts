/**
 * Two editor servers on one projects folder and one store schema (two web servers behind a load
 * balancer): a save or an edit is compare-and-swap across both, so two requests from one base
 * version get one 200 and one 409 whichever servers receive them, and no accepted edit is lost.
 * Each server is its own process (test/support/editor-server-process.ts: the real route handlers
 * over the store the orchestration opens, as `grimoire start` has them).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { withFileLock } from '../../lib/project/file-lock';
import { startOrchestration } from '../../lib/scheduler/orchestrator';
import { call, errorCode, type Answer } from '../support/http-client';
import { tempProjects } from '../support/projects';
import { testStore } from '../support/store';

let env: Awaited<ReturnType<typeof testStore>>;
let projects: Awaited<ReturnType<typeof tempProjects>>;
const children = new Set<ChildProcess>();
/** The two servers' base URLs. */
let servers: string[] = [];
/** Server n % 2. */
function server(n: number): string {
  const url = servers[n % 2];
  if (!url) throw new Error('the servers did not start');
  return url;
}

/** Starts one editor server process; resolves with its URL once it listens. */
async function startEditorServer(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'support', 'editor-server-process.ts'), env.url, env.pg.schema, projects.root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('editor-server-process did not get ready')), 60_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`editor-server-process exited before it was ready (${signal ?? code})`)));
  });
}

before(async () => {
  env = await testStore();
  projects = await tempProjects({ orch: 'test/fixtures/projects/orchestration' });
  // One after the other: each migrates the schema on open.
  const a = await startEditorServer();
  const b = await startEditorServer();
  servers = [a, b];
});

after(async () => {
  for (const child of [...children]) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (children.has(child)) child.kill('SIGKILL');
  }
  await env?.close();
  await projects?.cleanup();
});

const fileAnswer = z.object({ file: z.string(), content: z.string(), version: z.string() });
const savedAnswer = z.object({ file: z.string(), version: z.string() });
const pipelineAnswer = z.object({ version: z.string(), variables: z.record(z.string(), z.unknown()) });

const BLOCK = '/api/projects/orch/pipelines/hello/blocks/hello';
const EDITOR = '/api/projects/orch/pipelines/hello/editor';
const EDITS = '/api/projects/orch/pipelines/hello/edits';

const describeAnswer = (a: Answer) => `${a.status}${errorCode(a) ? ` ${errorCode(a)}` : ''}`;

describe('two servers on one projects folder', () => {
  test('200 save pairs of one block from one base version, one member to each server: one 200 and one 409 each, the winner on disk', async () => {
    const PAIRS = 200;
    let bothAccepted = 0;
    let bothRefused = 0;
    let otherStatus = 0;
    let wrongContent = 0;
    const problems: string[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const loaded = fileAnswer.parse((await call(server(i), 'GET', BLOCK)).json);
      const contents = [`export default () => [{ pair: ${i}, by: 'first' }];\n`, `export default () => [{ pair: ${i}, by: 'second' }];\n`];
      // Which server gets which member alternates, so neither is always first.
      const answers = await Promise.all(contents.map((content, k) => call(server(i + k), 'PUT', BLOCK, { body: { content, version: loaded.version } })));
      const statuses = answers.map((a) => a.status);
      const won = statuses.filter((s) => s === 200).length;
      const refused = answers.filter((a) => a.status === 409 && errorCode(a) === 'conflict').length;
      if (won === 2) bothAccepted++;
      else if (refused === 2) bothRefused++;
      else if (won !== 1 || refused !== 1) otherStatus++;
      const winner = answers.findIndex((a) => a.status === 200);
      const onDisk = await readFile(path.join(projects.root, 'orch', 'data_loaders', 'hello.ts'), 'utf8');
      if (won === 1 && refused === 1) {
        const saved = savedAnswer.parse(answers[winner]?.json);
        if (onDisk !== contents[winner]) wrongContent++;
        // The next pair starts from what the winner's answer says is on disk.
        assert.notEqual(saved.version, loaded.version);
      }
      if (problems.length < 5 && !(won === 1 && refused === 1 && onDisk === contents[winner])) {
        problems.push(`pair ${i}: ${answers.map(describeAnswer).join(' + ')}; on disk: ${JSON.stringify(onDisk.trim())}`);
      }
    }
    const summary = `of ${PAIRS} pairs: both 200 in ${bothAccepted}, both 409 in ${bothRefused}, other statuses in ${otherStatus}, winner not on disk in ${wrongContent}\n${problems.join('\n')}`;
    process.stdout.write(`save pairs ${summary}\n`);
    assert.equal(bothAccepted + bothRefused + otherStatus + wrongContent, 0, summary);
  });

  test('100 concurrent variable edits spread over both servers: every accepted edit is in metadata.yaml, every refusal a 409 that wrote nothing', async () => {
    const EDIT_COUNT = 100;
    const RETRY_CLIENTS = 10;
    const MAX_ATTEMPTS = 300;
    const metadata = path.join(projects.root, 'orch', 'pipelines', 'hello', 'metadata.yaml');
    const variablesOnDisk = async () =>
      z.object({ variables: z.record(z.string(), z.unknown()) }).parse(parseYaml(await readFile(metadata, 'utf8'))).variables;
    const nameOf = (i: number) => `v${String(i).padStart(3, '0')}`;
    const accepted: string[] = [];
    const missingFromAnswer: string[] = [];
    const unexpected: string[] = [];
    let conflicts = 0;
    /**
     * One try of edit i, as an editor tab does it: load the pipeline (from one server), set the
     * variable over that version (through the same server or the other one, as a load balancer
     * would send it). True when the edit is settled (accepted, or answered with neither 200 nor 409).
     */
    const attempt = async (i: number, n: number): Promise<boolean> => {
      const name = nameOf(i);
      const loaded = pipelineAnswer.parse((await call(server(i + n), 'GET', EDITOR)).json);
      const answer = await call(server(i + n + (i % 3 === 0 ? 1 : 0)), 'POST', EDITS, { body: { version: loaded.version, edits: [{ kind: 'set_variable', name, value: i }] } });
      if (answer.status === 200) {
        accepted.push(name);
        if (!(name in pipelineAnswer.parse(answer.json).variables)) missingFromAnswer.push(name);
        return true;
      }
      if (answer.status === 409 && errorCode(answer) === 'conflict') {
        conflicts++;
        return false;
      }
      unexpected.push(`${name}: ${describeAnswer(answer)} ${answer.text.slice(0, 200)}`);
      return true;
    };

    // All 100 at once: some land, the rest are refused; a refusal must have written nothing.
    const firstRound = await Promise.all(Array.from({ length: EDIT_COUNT }, (_, i) => attempt(i, 0)));
    const refused = firstRound.flatMap((settled, i) => (settled ? [] : [i]));
    const afterFirst = await variablesOnDisk();
    const firstAccepted = new Set(accepted);
    const writtenThoughRefused = refused.map(nameOf).filter((name) => name in afterFirst);
    const lostInFirst = [...firstAccepted].filter((name) => !(name in afterFirst));
    const first = `first round of ${EDIT_COUNT} at once: ${firstAccepted.size} accepted (${lostInFirst.length} of them lost from metadata.yaml), ${refused.length} refused with 409 (${writtenThoughRefused.length} of them written anyway)`;

    // The refused ones load again and retry, 10 tabs at a time, until each lands.
    let nextRefused = 0;
    const retryClient = async () => {
      for (let k = nextRefused++; k < refused.length; k = nextRefused++) {
        const i = refused[k] ?? 0;
        for (let n = 1; n < MAX_ATTEMPTS && !(await attempt(i, n)); n++);
      }
    };
    await Promise.all(Array.from({ length: RETRY_CLIENTS }, retryClient));

    const variables = await variablesOnDisk();
    const lost = accepted.filter((name) => !(name in variables));
    const summary = `${first}; in all: ${accepted.length} accepted, ${conflicts} refused with 409 (then retried), ${lost.length} accepted but lost from metadata.yaml, ${missingFromAnswer.length} missing from their own answer, ${unexpected.length} other answers\n${[...lost.slice(0, 10), ...unexpected.slice(0, 5)].join('\n')}`;
    process.stdout.write(`variable edits: ${summary}\n`);
    assert.equal(lostInFirst.length + writtenThoughRefused.length, 0, summary);
    assert.equal(lost.length + missingFromAnswer.length + unexpected.length, 0, summary);
    assert.equal(accepted.length, EDIT_COUNT, summary);
    assert.equal(variables.who, 'pipeline', 'the variable the file had before stays');
  });

  test('a block renamed through one server while the other saves it: the save lands before the move or is refused, never into a stray copy', async () => {
    const ROUNDS = 20;
    const transformers = path.join(projects.root, 'orch', 'transformers');
    const readOrNull = (file: string) => readFile(file, 'utf8').catch(() => null);
    const anomalies: string[] = [];
    let savedFirst = 0;
    let saveRefused = 0;
    for (let r = 0; r < ROUNDS; r++) {
      // The rename rewrites every pipeline that lists the block and its file: locks taken inside the edit's lock.
      const [from, to] = r % 2 === 0 ? ['after', 'after2'] : ['after2', 'after'];
      const block = `/api/projects/orch/pipelines/hello/blocks/${from}`;
      const blockAnswer = await call(server(r), 'GET', block);
      const loadedBlock = fileAnswer.safeParse(blockAnswer.json);
      if (!loadedBlock.success) {
        anomalies.push(`round ${r}: block ${from} cannot be loaded: ${describeAnswer(blockAnswer)} ${blockAnswer.text.slice(0, 200)}`);
        break;
      }
      const loadedPipeline = pipelineAnswer.parse((await call(server(r + 1), 'GET', EDITOR)).json);
      const content = `export default () => [{ round: ${r} }];\n`;
      const [saved, renamed] = await Promise.all([
        call(server(r), 'PUT', block, { body: { content, version: loadedBlock.data.version } }),
        call(server(r + 1), 'POST', EDITS, { body: { version: loadedPipeline.version, edits: [{ kind: 'rename_block', uuid: from, to }] } }),
      ]);
      const moved = await readOrNull(path.join(transformers, `${to}.ts`));
      const stray = await readOrNull(path.join(transformers, `${from}.ts`));
      const round = `round ${r}: save ${describeAnswer(saved)}, rename ${describeAnswer(renamed)}`;
      if (renamed.status !== 200) anomalies.push(`${round}: the rename was refused ${renamed.text.slice(0, 200)}`);
      if (stray !== null) anomalies.push(`${round}: transformers/${from}.ts is still there (${JSON.stringify(stray.trim())})`);
      if (saved.status === 200) {
        savedFirst++;
        if (moved !== content) anomalies.push(`${round}: the save was accepted but transformers/${to}.ts holds ${JSON.stringify(moved)}`);
      } else if ((saved.status === 409 && errorCode(saved) === 'conflict') || (saved.status === 404 && errorCode(saved) === 'not_found')) {
        saveRefused++;
        if (moved === content) anomalies.push(`${round}: the save was refused but its text is in transformers/${to}.ts`);
      } else {
        anomalies.push(`${round}: ${saved.text.slice(0, 200)}`);
      }
    }
    const summary = `${ROUNDS} rounds: save before the rename in ${savedFirst}, save refused in ${saveRefused}, ${anomalies.length} anomalies\n${anomalies.slice(0, 10).join('\n')}`;
    process.stdout.write(`rename while saving: ${summary}\n`);
    assert.equal(anomalies.length, 0, summary);
  });

  test('in one process with a store: a lock taken again inside itself is free; two files taken in opposite orders are a deadlock Postgres breaks with a 409', async () => {
    const orchestration = await startOrchestration({ url: env.url, schema: env.pg.schema, projectsDir: projects.root, roles: { scheduler: false, worker: false }, log: () => undefined });
    try {
      const [one, two] = [path.join(projects.root, 'orch', 'one.txt'), path.join(projects.root, 'orch', 'two.txt')];
      assert.equal(await withFileLock(one, () => withFileLock(one, async () => 'again')), 'again');
      // Each side holds its first file until both do, then asks for the other's.
      let arrived = 0;
      let bothHold: () => void = () => undefined;
      const holding = new Promise<void>((resolve) => (bothHold = resolve));
      const side = (first: string, second: string, name: string) =>
        withFileLock(first, async () => {
          if (++arrived === 2) bothHold();
          await holding;
          return withFileLock(second, async () => name);
        });
      const started = Date.now();
      const outcomes = await Promise.allSettled([side(one, two, 'a'), side(two, one, 'b')]);
      const summary = `${outcomes.map((o) => (o.status === 'fulfilled' ? o.value : `refused: ${o.reason instanceof Error ? o.reason.message : String(o.reason)}`)).join(', ')} after ${Date.now() - started} ms`;
      process.stdout.write(`opposite orders: ${summary}\n`);
      const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
      assert.equal(refusals.length, 1, summary);
      assert.ok(refusals[0] instanceof Error && 'code' in refusals[0] && refusals[0].code === 'conflict', summary);
      // Both locks were freed: the files can be locked again at once.
      assert.equal(await withFileLock(two, () => withFileLock(one, async () => 'free')), 'free');
    } finally {
      await orchestration.close();
    }
  });
});
