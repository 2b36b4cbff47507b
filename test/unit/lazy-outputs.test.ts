import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AddOnBlock, type Block, type BlockLanguage, type BlockType, type JsonObject, type Pipeline } from '../../lib/pipeline/model';
import { lazyOutputs } from '../../lib/run/lazy-outputs';

const block = (uuid: string, upstream: string[] = [], options: { type?: BlockType; language?: BlockLanguage; configuration?: JsonObject } = {}): Block => ({
  uuid,
  name: uuid,
  type: options.type ?? 'transformer',
  language: options.language ?? 'sql',
  upstream,
  configuration: options.configuration ?? {},
  file: `x/${uuid}.sql`,
});

const pipeline = (blocks: Block[], addOns: { conditionals?: AddOnBlock[]; callbacks?: AddOnBlock[] } = {}): Pipeline => ({
  uuid: 'p',
  name: 'p',
  type: 'batch',
  variables: {},
  blocks,
  conditionals: addOns.conditionals ?? [],
  callbacks: addOns.callbacks ?? [],
});

const all = (p: Pipeline) => Object.fromEntries(lazyOutputs(p, p.blocks.map((b) => b.uuid)));

test('the SQL homework: the loader fuses into its one SQL reader; the exporters may pass a table through; the transformer two read stays a table', () => {
  const p = pipeline([
    block('load', [], { type: 'data_loader' }),
    block('clean', ['load']),
    block('to_pg', ['clean'], { type: 'data_exporter', configuration: { destination: { type: 'postgres', table: 't' } } }),
    block('to_lake', ['clean'], { type: 'data_exporter', configuration: { destination: { type: 'parquet', path: 'lake/t' } } }),
  ]);
  assert.deepEqual(all(p), { load: 'fuse', to_pg: 'pass_through', to_lake: 'pass_through' });
});

test('fuse needs one reader that is a plain SQL block, and no destination of its own; a pass-through, no reader at all', () => {
  const p = pipeline([
    block('to_ts', []),
    block('ts', ['to_ts'], { language: 'typescript' }),
    block('to_pg_sql', []),
    block('pg_sql', ['to_pg_sql'], { configuration: { data_provider: 'postgres' } }),
    block('to_profile_db', []),
    block('profile_db', ['to_profile_db'], { configuration: { data_provider_profile: 'warehouse' } }),
    block('exported', [], { configuration: { destination: { type: 'parquet', path: 'lake/x' } } }),
    block('reads_exported', ['exported']),
  ]);
  const lazy = all(p);
  // Read by a block that could change its rows or run it twice: a table.
  for (const u of ['to_ts', 'to_pg_sql', 'to_profile_db', 'exported']) assert.equal(lazy[u], undefined, u);
  // The readers themselves: TypeScript never; the SQL ones, read by nobody, may pass a table through.
  assert.equal(lazy.ts, undefined);
  assert.equal(lazy.pg_sql, 'pass_through');
  assert.equal(lazy.reads_exported, 'pass_through');
});

test('a reader outside the run does not count; two readers in it keep the output from fusing', () => {
  const p = pipeline([block('a'), block('b', ['a']), block('c', ['a'])]);
  assert.equal(lazyOutputs(p, ['a', 'b']).get('a'), 'fuse');
  assert.equal(lazyOutputs(p, ['a', 'b', 'c']).get('a'), undefined);
});

test('cached, fanned-out, add-on and sensor blocks, and everything under a fan-out, stay tables', () => {
  const addOn = (uuid: string, upstream: string[]): AddOnBlock => ({ uuid, name: uuid, kind: 'callback', language: 'typescript', upstream, configuration: {}, file: `callbacks/${uuid}.ts` });
  const p = pipeline(
    [
      block('cached', [], { configuration: { cache: { expires_after: '1h' } } }),
      block('months', [], { configuration: { dynamic: true } }),
      block('per_month', ['months']),
      block('after_fan', ['per_month']),
      block('reduced', [], { configuration: { reduce_output: true } }),
      block('watched', []),
      block('gate', [], { type: 'sensor' }),
      block('plain', []),
    ],
    { callbacks: [addOn('notify', ['watched'])] },
  );
  assert.deepEqual(all(p), { plain: 'pass_through' });
});
