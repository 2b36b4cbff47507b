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

test('the SQL homework: the exporters may pass a table through; the loader and the transformer, each read by a block, stay tables', () => {
  const p = pipeline([
    block('load', [], { type: 'data_loader' }),
    block('clean', ['load']),
    block('to_pg', ['clean'], { type: 'data_exporter', configuration: { destination: { type: 'postgres', table: 't' } } }),
    block('to_lake', ['clean'], { type: 'data_exporter', configuration: { destination: { type: 'parquet', path: 'lake/t' } } }),
  ]);
  assert.deepEqual(all(p), { to_pg: 'pass_through', to_lake: 'pass_through' });
});

test('any block a block of the run reads stays a table, whatever reads it; an SQL block nobody reads may pass a table through', () => {
  const p = pipeline([
    block('to_sql', []),
    block('sql', ['to_sql']),
    block('to_ts', []),
    block('ts', ['to_ts'], { language: 'typescript' }),
    block('to_pg_sql', []),
    block('pg_sql', ['to_pg_sql'], { configuration: { data_provider: 'postgres' } }),
    block('exported', [], { configuration: { destination: { type: 'parquet', path: 'lake/x' } } }),
    block('reads_exported', ['exported']),
  ]);
  const lazy = all(p);
  for (const u of ['to_sql', 'to_ts', 'to_pg_sql', 'exported', 'ts']) assert.equal(lazy[u], undefined, u);
  for (const u of ['sql', 'pg_sql', 'reads_exported']) assert.equal(lazy[u], 'pass_through', u);
});

test('a reader outside the run does not count', () => {
  const p = pipeline([block('a'), block('b', ['a']), block('c', ['a'])]);
  assert.equal(lazyOutputs(p, ['a']).get('a'), 'pass_through');
  assert.equal(lazyOutputs(p, ['a', 'b']).get('a'), undefined);
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
