/**
 * The secrets routes (app/api/secrets) against a running orchestration, and a worker's run that
 * reads a secret set through them: values go in, only names come out, and run logs, errors and
 * stored block results show the value masked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GET as listSecrets } from '../../app/api/secrets/route';
import { DELETE as deleteSecret, PUT as putSecret } from '../../app/api/secrets/[name]/route';
import { gatePrincipalHeaders } from '../support/socket-access';
import { postgresUrl } from '../../lib/db/embedded-postgres';
import { startOrchestration } from '../../lib/scheduler/orchestrator';
import { type Orchestration } from '../../lib/scheduler/slot';
import { testPostgres, type TestPostgres } from '../support/postgres';
import { writeProject } from '../support/write-project';

const VALUE = 'tok_live_abcdef123456';

let pg: TestPostgres;
let project: Awaited<ReturnType<typeof writeProject>>;
let orch: Orchestration;

before(async () => {
  pg = await testPostgres();
  project = await writeProject('sec', {
    'pipelines/p/metadata.yaml': [
      'blocks:',
      '  - { uuid: uses, type: data_loader, language: typescript, upstream_blocks: [] }',
      '  - { uuid: leaks, type: transformer, language: typescript, upstream_blocks: [uses] }',
      '',
    ].join('\n'),
    'data_loaders/uses.ts': "export default async function uses(ctx: BlockContext) {\n  const t = ctx.secrets.get('SERVICE_TOKEN');\n  ctx.log(`calling with ${t}`);\n  return [{ n: t.length }];\n}\n",
    'transformers/leaks.ts': "export default async function leaks(up: DataFrame, ctx: BlockContext) {\n  throw new Error(`rejected token ${ctx.secrets.get('SERVICE_TOKEN')}`);\n}\n",
  });
  orch = await startOrchestration({ url: postgresUrl(pg.coordinates), schema: pg.schema, projectsDir: project.root, kernelEnv: pg.env, roles: { scheduler: false, worker: true }, log: () => undefined });
});
after(async () => {
  await orch?.close();
  await pg?.close();
  await project?.cleanup();
});

const params = (name: string) => ({ params: Promise.resolve({ name }) });
function request(method: string, body?: string): Request {
  return new Request('http://grimoire.test/api/secrets/x', {
    method,
    headers: { 'content-type': 'application/json', ...gatePrincipalHeaders('owner', 'alice') },
    body,
  });
}

async function json(res: Response): Promise<string> {
  return JSON.stringify(await res.json());
}

describe('/api/secrets', () => {
  test('PUT sets a secret by whoever asked; GET lists names, never values', async () => {
    assert.equal(await json(await listSecrets()), '{"secrets":[]}');
    const put = await putSecret(request('PUT', JSON.stringify({ value: VALUE })), params('SERVICE_TOKEN'));
    assert.equal(put.status, 200);
    const answer = await json(put);
    assert.match(answer, /"name":"SERVICE_TOKEN"/);
    assert.match(answer, /"updated_by":"alice"/);
    assert.doesNotMatch(answer, new RegExp(VALUE));
    const list = await listSecrets();
    const text = await json(list);
    assert.match(text, /^\{"secrets":\[\{"name":"SERVICE_TOKEN","updated_at":"[^"]+","updated_by":"alice"\}\]\}$/);
    assert.doesNotMatch(text, new RegExp(VALUE));
  });

  test('a bad name, an empty value, extra fields or a non-JSON body answer 400; removing an unknown name 404', async () => {
    const bad: [Request, string][] = [
      [request('PUT', JSON.stringify({ value: 'v' })), 'not-valid'],
      [request('PUT', JSON.stringify({ value: '' })), 'EMPTY'],
      [request('PUT', JSON.stringify({ value: 'v', extra: 1 })), 'EXTRA'],
      [request('PUT', 'value=v'), 'FORM'],
    ];
    for (const [req, name] of bad) {
      const res = await putSecret(req, params(name));
      assert.equal(res.status, 400, name);
      assert.match(await json(res), /"code":"invalid_input"/);
    }
    assert.equal((await deleteSecret(request('DELETE'), params('NEVER_SET'))).status, 404);
    assert.equal((await deleteSecret(request('DELETE'), params('bad name'))).status, 400);
    assert.match(await json(await listSecrets()), /^\{"secrets":\[\{"name":"SERVICE_TOKEN"/);
  });

  test("a worker's run reads the secret; its stored logs and errors show it masked", async () => {
    const run = await orch.store.runs.create({ project: 'sec', pipeline: 'p', kind: 'manual', executionDate: new Date('2024-01-05T00:00:00Z') });
    assert.ok(run);
    const deadline = Date.now() + 60_000;
    let detail = await orch.store.runs.detail(run.id);
    while (detail && !['completed', 'failed', 'cancelled'].includes(detail.run.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      detail = await orch.store.runs.detail(run.id);
    }
    assert.equal(detail?.run.status, 'failed', JSON.stringify(detail));
    const uses = detail.blocks.find((b) => b.block_uuid === 'uses');
    assert.equal(uses?.status, 'completed');
    assert.equal(uses?.row_count, 1);
    const logs = (await orch.store.logs.list(run.id)).map((l) => l.text);
    assert.ok(logs.includes('calling with ***'), logs.join('\n'));
    const leaks = detail.attempts.filter((a) => a.block_uuid === 'leaks');
    assert.ok(leaks.length > 0);
    assert.match(JSON.stringify(leaks.map((a) => a.error)), /rejected token \*\*\*/);
    assert.doesNotMatch(JSON.stringify([detail, logs]), new RegExp(VALUE));
  });

  test('DELETE removes it', async () => {
    const res = await deleteSecret(request('DELETE'), params('SERVICE_TOKEN'));
    assert.equal(res.status, 200);
    assert.equal(await json(res), '{"removed":"SERVICE_TOKEN"}');
    assert.equal(await json(await listSecrets()), '{"secrets":[]}');
  });
});
