import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { editPipelineYaml, type PipelineEdit } from '../../lib/pipeline/edit-pipeline';
import { parsePipeline } from '../../lib/pipeline/parse-pipeline';
import { type Pipeline } from '../../lib/pipeline/model';

const SOURCE = `# Pipeline kept in git; comments must survive the IDE.
name: green_taxi_etl # display name
uuid: green_taxi_etl
type: batch
executor_type: local_python   # a Mage key we do not know
variables:
  limit: 10 # rows
blocks:
  # the loader reads the raw file
  - uuid: load
    type: data_loader
    language: sql
    upstream_blocks: []
    retry_config: { retries: 3 } # block-level unknown key
    configuration:
      data_provider: duckdb # default provider
  # cleaning step
  - uuid: clean
    type: transformer
    language: typescript
    upstream_blocks: [load] # flow list
    color: teal
  - uuid: export
    type: data_exporter
    upstream_blocks:
      - clean # the cleaned rows
      - load
# trailing comment
`;

const TOP_COMMENTS = [
  '# Pipeline kept in git; comments must survive the IDE.',
  '# display name',
  '# a Mage key we do not know',
  '# rows',
  '# trailing comment',
];

function edit(...edits: PipelineEdit[]): string {
  return editPipelineYaml(SOURCE, edits);
}

function pipelineOf(text: string): Pipeline {
  const parsed = parsePipeline(text, 'metadata.yaml', 'green_taxi_etl');
  if (!parsed.ok) return assert.fail(JSON.stringify(parsed.issues));
  return parsed.value;
}

const uuids = (text: string) => pipelineOf(text).blocks.map((b) => b.uuid);
const upstreamOf = (text: string, uuid: string) => pipelineOf(text).blocks.find((b) => b.uuid === uuid)?.upstream;

function assertIncludes(text: string, ...parts: string[]) {
  for (const part of parts) assert.ok(text.includes(part), `expected the file to keep ${JSON.stringify(part)}:\n${text}`);
}

/** Top-level comments and unknown keys, which no edit of blocks may lose. */
function assertTopLevelKept(text: string) {
  assertIncludes(text, ...TOP_COMMENTS, 'executor_type: local_python');
  const top: unknown = parse(text);
  assert.ok(top !== null && typeof top === 'object' && 'executor_type' in top && top.executor_type === 'local_python');
}

describe('editPipelineYaml', () => {
  test('no edits keeps content, comments and key order', () => {
    const out = editPipelineYaml(SOURCE, []);
    assert.deepEqual(parse(out), parse(SOURCE));
    assertTopLevelKept(out);
    assertIncludes(out, '# the loader reads the raw file', '# cleaning step', '# block-level unknown key', '# default provider', '# flow list', '# the cleaned rows');
    const keys = (text: string) => text.split('\n').filter((l) => /^[a-z_]+:/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
    assert.deepEqual(keys(out), ['name', 'uuid', 'type', 'executor_type', 'variables', 'blocks']);
  });

  test('add_block appends by default with the public keys', () => {
    const out = edit({ kind: 'add_block', uuid: 'report', type: 'data_exporter', language: 'sql', upstream: ['clean'] });
    assert.deepEqual(uuids(out), ['load', 'clean', 'export', 'report']);
    const added = pipelineOf(out).blocks[3];
    assert.deepEqual(added, {
      uuid: 'report',
      name: 'report',
      type: 'data_exporter',
      language: 'sql',
      upstream: ['clean'],
      configuration: {},
      file: 'data_exporters/report.sql',
    });
    assertTopLevelKept(out);
    assertIncludes(out, '# the loader reads the raw file', '# cleaning step', '# block-level unknown key', 'retry_config', 'color: teal', '# the cleaned rows', '# flow list', '# default provider');
  });

  test('add_block at an index, with configuration', () => {
    const out = edit({
      kind: 'add_block',
      uuid: 'dedupe',
      type: 'transformer',
      language: 'typescript',
      upstream: ['load'],
      index: 1,
      configuration: { destination: { type: 'parquet', path: 'lake/x', partition_by: ['d'] } },
    });
    assert.deepEqual(uuids(out), ['load', 'dedupe', 'clean', 'export']);
    assert.deepEqual(pipelineOf(out).blocks[1]?.configuration, { destination: { type: 'parquet', path: 'lake/x', partition_by: ['d'] } });
    assertTopLevelKept(out);
  });

  test('add_block clamps the index', () => {
    const first = edit({ kind: 'add_block', uuid: 'x', type: 'data_loader', language: 'sql', upstream: [], index: -5 });
    assert.deepEqual(uuids(first), ['x', 'load', 'clean', 'export']);
    const last = edit({ kind: 'add_block', uuid: 'x', type: 'data_loader', language: 'sql', upstream: [], index: 99 });
    assert.deepEqual(uuids(last), ['load', 'clean', 'export', 'x']);
  });

  test('add_block refuses an existing uuid', () => {
    assert.throws(() => edit({ kind: 'add_block', uuid: 'clean', type: 'transformer', language: 'typescript', upstream: [] }), /block "clean" already exists/);
  });

  test('add_block creates the blocks list when there is none', () => {
    const out = editPipelineYaml('# mine\nname: p\nfoo: bar\n', [{ kind: 'add_block', uuid: 'a', type: 'data_loader', language: 'typescript', upstream: [] }]);
    assertIncludes(out, '# mine', 'foo: bar');
    const parsed = parsePipeline(out, 'metadata.yaml', 'p');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.blocks.map((b) => b.uuid), ['a']);
    const empty = editPipelineYaml('blocks:\n', [{ kind: 'add_block', uuid: 'a', type: 'data_loader', language: 'typescript', upstream: [] }]);
    assert.deepEqual(uuids(empty), ['a']);
  });

  test('remove_block drops the block and every reference to it, keeping comments and unknown keys', () => {
    const out = edit({ kind: 'remove_block', uuid: 'load' });
    assert.deepEqual(uuids(out), ['clean', 'export']);
    assert.deepEqual(upstreamOf(out, 'clean'), []);
    assert.deepEqual(upstreamOf(out, 'export'), ['clean']);
    assert.equal(out.includes('data_provider: duckdb'), false);
    assert.equal(out.includes('retry_config'), false);
    assertTopLevelKept(out);
    assertIncludes(out, '# cleaning step', 'color: teal', '# the cleaned rows', '# flow list');
  });

  test('remove_block of a middle block', () => {
    const out = edit({ kind: 'remove_block', uuid: 'clean' });
    assert.deepEqual(uuids(out), ['load', 'export']);
    assert.deepEqual(upstreamOf(out, 'export'), ['load']);
    assertTopLevelKept(out);
    assertIncludes(out, '# the loader reads the raw file', 'retry_config: { retries: 3 } # block-level unknown key', '# default provider');
    assert.equal(out.includes('color: teal'), false);
  });

  test('remove_block of an unknown block throws', () => {
    assert.throws(() => edit({ kind: 'remove_block', uuid: 'nope' }), /block "nope" is not in this pipeline/);
  });

  test('set_upstream replaces the list and keeps comments and unknown keys', () => {
    const out = edit({ kind: 'set_upstream', uuid: 'export', upstream: ['load'] });
    assert.deepEqual(upstreamOf(out, 'export'), ['load']);
    assert.deepEqual(upstreamOf(out, 'clean'), ['load']);
    assertTopLevelKept(out);
    assertIncludes(out, '# the loader reads the raw file', '# cleaning step', 'retry_config', 'color: teal', '# default provider', '# flow list');
  });

  test('set_upstream keeps the comment on the list itself', () => {
    const out = edit({ kind: 'set_upstream', uuid: 'clean', upstream: [] });
    assert.deepEqual(upstreamOf(out, 'clean'), []);
    assertIncludes(out, '# flow list');
  });

  test('set_upstream keeps comments of entries that stay, in the new order', () => {
    const out = edit({ kind: 'set_upstream', uuid: 'export', upstream: ['load', 'clean'] });
    assert.deepEqual(upstreamOf(out, 'export'), ['load', 'clean']);
    assertIncludes(out, '# the cleaned rows');
  });

  test('set_upstream on a block without the key adds it', () => {
    const out = editPipelineYaml('blocks:\n  - uuid: a\n    type: data_loader\n  - uuid: b # keep\n    type: transformer\n', [
      { kind: 'set_upstream', uuid: 'b', upstream: ['a'] },
    ]);
    assertIncludes(out, '# keep');
    const parsed = parsePipeline(out, 'm.yaml', 'x');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.blocks[1]?.upstream, ['a']);
  });

  test('set_upstream of an unknown block throws', () => {
    assert.throws(() => edit({ kind: 'set_upstream', uuid: 'nope', upstream: [] }), /block "nope" is not in this pipeline/);
  });

  test('rename_block renames and updates every upstream reference', () => {
    const out = edit({ kind: 'rename_block', uuid: 'load', to: 'load_raw' });
    assert.deepEqual(uuids(out), ['load_raw', 'clean', 'export']);
    assert.deepEqual(upstreamOf(out, 'clean'), ['load_raw']);
    assert.deepEqual(upstreamOf(out, 'export'), ['clean', 'load_raw']);
    assert.equal(/\bload\b(?!_raw)/.test(out.replace(/# the loader reads the raw file/, '')), false, out);
    assertTopLevelKept(out);
    assertIncludes(out, '# the loader reads the raw file', '# block-level unknown key', '# default provider', 'color: teal', '# flow list');
  });

  test('rename_block keeps the comment on a renamed list entry', () => {
    const out = edit({ kind: 'rename_block', uuid: 'clean', to: 'cleaned' });
    assert.deepEqual(upstreamOf(out, 'export'), ['cleaned', 'load']);
    assertIncludes(out, '- cleaned # the cleaned rows', '# cleaning step');
    assertTopLevelKept(out);
  });

  test('rename_block refuses a uuid that is already taken', () => {
    assert.throws(() => edit({ kind: 'rename_block', uuid: 'load', to: 'clean' }), /block "clean" already exists/);
  });

  test('rename_block to the same name changes nothing', () => {
    assert.deepEqual(uuids(edit({ kind: 'rename_block', uuid: 'load', to: 'load' })), ['load', 'clean', 'export']);
  });

  test('rename_block of an unknown block throws', () => {
    assert.throws(() => edit({ kind: 'rename_block', uuid: 'nope', to: 'x' }), /block "nope" is not in this pipeline/);
  });

  test('move_block reorders and keeps each block with its own comment and keys', () => {
    const out = edit({ kind: 'move_block', uuid: 'clean', index: 2 });
    assert.deepEqual(uuids(out), ['load', 'export', 'clean']);
    assertTopLevelKept(out);
    // The comment above clean travels with clean.
    const at = out.indexOf('# cleaning step');
    assert.ok(at > out.indexOf('uuid: export') && at < out.indexOf('uuid: clean'), out);
    assertIncludes(out, 'color: teal', '# flow list', '# the cleaned rows', 'retry_config', '# default provider');
    assert.deepEqual(upstreamOf(out, 'export'), ['clean', 'load']);
  });

  test('move_block to the front and out of range', () => {
    assert.deepEqual(uuids(edit({ kind: 'move_block', uuid: 'export', index: 0 })), ['export', 'load', 'clean']);
    assert.deepEqual(uuids(edit({ kind: 'move_block', uuid: 'load', index: 10 })), ['clean', 'export', 'load']);
    assert.deepEqual(uuids(edit({ kind: 'move_block', uuid: 'clean', index: -1 })), ['clean', 'load', 'export']);
    assertTopLevelKept(edit({ kind: 'move_block', uuid: 'export', index: 0 }));
  });

  test('move_block of an unknown block throws', () => {
    assert.throws(() => edit({ kind: 'move_block', uuid: 'nope', index: 0 }), /block "nope" is not in this pipeline/);
  });

  test('set_configuration replaces the configuration only', () => {
    const out = edit({ kind: 'set_configuration', uuid: 'clean', configuration: { destination: { type: 'postgres', profile: 'default', write_policy: 'append' } } });
    assert.deepEqual(pipelineOf(out).blocks[1]?.configuration, { destination: { type: 'postgres', profile: 'default', write_policy: 'append' } });
    assert.deepEqual(pipelineOf(out).blocks[0]?.configuration, { data_provider: 'duckdb' });
    assertTopLevelKept(out);
    assertIncludes(out, 'color: teal', '# cleaning step');
  });

  test('edits apply in order', () => {
    const out = edit(
      { kind: 'add_block', uuid: 'tmp', type: 'transformer', language: 'typescript', upstream: ['load'] },
      { kind: 'rename_block', uuid: 'tmp', to: 'enrich' },
      { kind: 'set_upstream', uuid: 'export', upstream: ['enrich'] },
      { kind: 'move_block', uuid: 'enrich', index: 1 },
      { kind: 'remove_block', uuid: 'clean' },
    );
    assert.deepEqual(uuids(out), ['load', 'enrich', 'export']);
    assert.deepEqual(upstreamOf(out, 'enrich'), ['load']);
    assert.deepEqual(upstreamOf(out, 'export'), ['enrich']);
    assertTopLevelKept(out);
  });

  test('a failing edit in a batch throws and nothing is returned', () => {
    assert.throws(() => edit({ kind: 'remove_block', uuid: 'load' }, { kind: 'remove_block', uuid: 'load' }), /not in this pipeline/);
  });

  test('malformed YAML is refused', () => {
    assert.throws(() => editPipelineYaml('blocks: [a\n', [{ kind: 'remove_block', uuid: 'a' }]), /cannot edit malformed YAML/);
  });

  test('blocks that is not a list is refused, not replaced', () => {
    // A missing or empty list is created, but a mapping the user wrote must not be silently dropped.
    const add: PipelineEdit = { kind: 'add_block', uuid: 'b', type: 'data_loader', language: 'sql', upstream: [] };
    assert.throws(() => editPipelineYaml('blocks:\n  a: 1\n', [add]), /blocks is not a list/);
    assert.throws(() => editPipelineYaml('blocks: some text\n', [add]), /blocks is not a list/);
    assert.throws(() => editPipelineYaml('blocks:\n  a: 1\n', [{ kind: 'remove_block', uuid: 'a' }]), /blocks is not a list/);
  });
});

describe('block values and variables', () => {
  const flow = '# mine\nvariables:\nblocks:\n  - { uuid: a, type: data_loader, language: sql }  # first\n';

  test('a nested key is set under a missing parent, and removing a missing key changes nothing', () => {
    const set = editPipelineYaml(flow, [
      { kind: 'set_block_value', uuid: 'a', path: ['configuration', 'destination'], value: { type: 'parquet', path: 'lake/a' } },
      { kind: 'set_block_value', uuid: 'a', path: ['timeout'], value: 30 },
    ]);
    assert.deepEqual(parse(set).blocks[0], { uuid: 'a', type: 'data_loader', language: 'sql', configuration: { destination: { type: 'parquet', path: 'lake/a' } }, timeout: 30 });
    assert.match(set, /^# mine/);
    assert.match(set, /# first/);
    const cleared = editPipelineYaml(set, [
      { kind: 'set_block_value', uuid: 'a', path: ['configuration', 'destination'], value: null },
      { kind: 'set_block_value', uuid: 'a', path: ['retry_config', 'retries'], value: null },
      { kind: 'set_block_value', uuid: 'a', path: ['timeout'], value: null },
    ]);
    assert.deepEqual(parse(cleared).blocks[0], { uuid: 'a', type: 'data_loader', language: 'sql', configuration: {} });
  });

  test('variables: an empty `variables:` becomes a map; set, change and remove keep the comments', () => {
    const added = editPipelineYaml(flow, [
      { kind: 'set_variable', name: 'base_url', value: 'http://x' },
      { kind: 'set_variable', name: 'months', value: ['2020-10'] },
      { kind: 'set_variable', name: 'base_url', value: 'http://y' },
      { kind: 'remove_variable', name: 'months' },
    ]);
    assert.deepEqual(parse(added).variables, { base_url: 'http://y' });
    assert.match(added, /# first/);
    assert.throws(() => editPipelineYaml(added, [{ kind: 'remove_variable', name: 'nope' }]), /variable "nope" is not in this pipeline/);
  });
});

describe('add-on blocks (conditionals and callbacks)', () => {
  const WITH_ADD_ONS = `${SOURCE}conditionals:
  # only on weekdays
  - uuid: weekdays
    language: typescript
    upstream_blocks: [export] # the exporter only
callbacks:
  - uuid: notify
    upstream_blocks:
      - load
      - clean # after cleaning
`;
  const addOns = (text: string) => {
    const p = pipelineOf(text);
    return { conditionals: p.conditionals.map((a) => [a.uuid, a.upstream]), callbacks: p.callbacks.map((a) => [a.uuid, a.upstream]) };
  };

  test('add_add_on creates the list when there is none, with the entry Mage writes', () => {
    const out = edit({ kind: 'add_add_on', list: 'conditionals', uuid: 'only_weekdays', upstream: ['export'] });
    assert.deepEqual(addOns(out), { conditionals: [['only_weekdays', ['export']]], callbacks: [] });
    assert.deepEqual(pipelineOf(out).conditionals[0], { uuid: 'only_weekdays', name: 'only_weekdays', kind: 'conditional', language: 'typescript', upstream: ['export'], configuration: {}, file: 'conditionals/only_weekdays.ts' });
    assertTopLevelKept(out);
    assert.throws(() => editPipelineYaml(out, [{ kind: 'add_add_on', list: 'conditionals', uuid: 'only_weekdays', upstream: ['load'] }]), /already in this pipeline's conditionals/);
  });

  test('set_add_on_upstream and remove_add_on keep the comments of what stays', () => {
    const moved = editPipelineYaml(WITH_ADD_ONS, [{ kind: 'set_add_on_upstream', list: 'callbacks', uuid: 'notify', upstream: ['clean', 'export'] }]);
    assert.deepEqual(addOns(moved).callbacks, [['notify', ['clean', 'export']]]);
    assertIncludes(moved, '# after cleaning', '# only on weekdays', '# the exporter only');
    const removed = editPipelineYaml(WITH_ADD_ONS, [{ kind: 'remove_add_on', list: 'conditionals', uuid: 'weekdays' }]);
    assert.deepEqual(addOns(removed), { conditionals: [], callbacks: [['notify', ['load', 'clean']]] });
    assertTopLevelKept(removed);
    assert.throws(() => editPipelineYaml(WITH_ADD_ONS, [{ kind: 'remove_add_on', list: 'callbacks', uuid: 'weekdays' }]), /"weekdays" is not in this pipeline's callbacks/);
  });

  test('renaming a block moves its add-ons along; removing it detaches them', () => {
    const renamed = editPipelineYaml(WITH_ADD_ONS, [{ kind: 'rename_block', uuid: 'clean', to: 'clean_trips' }]);
    assert.deepEqual(addOns(renamed).callbacks, [['notify', ['load', 'clean_trips']]]);
    assertIncludes(renamed, '# after cleaning');
    const removed = editPipelineYaml(WITH_ADD_ONS, [{ kind: 'remove_block', uuid: 'export' }]);
    assert.deepEqual(addOns(removed), { conditionals: [['weekdays', []]], callbacks: [['notify', ['load', 'clean']]] });
  });
});
