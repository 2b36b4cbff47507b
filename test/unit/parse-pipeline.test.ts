import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blockLines, parsePipeline } from '../../lib/pipeline/parse-pipeline';
import { type Parsed, type PipelineIssue } from '../../lib/pipeline/issues';
import { type Pipeline } from '../../lib/pipeline/model';

const FILE = 'pipelines/green_taxi_etl/metadata.yaml';

function parse(text: string, folder = 'green_taxi_etl'): Parsed<Pipeline> {
  return parsePipeline(text, FILE, folder);
}

function ok(result: Parsed<Pipeline>): Pipeline {
  if (!result.ok) return assert.fail(`expected a pipeline, got issues: ${JSON.stringify(result.issues)}`);
  return result.value;
}

function issues(result: Parsed<Pipeline>): PipelineIssue[] {
  if (result.ok) return assert.fail('expected issues, got a pipeline');
  assert.ok(result.issues.length > 0);
  for (const issue of result.issues) assert.equal(issue.file, FILE);
  return result.issues;
}

function only(result: Parsed<Pipeline>): PipelineIssue {
  const list = issues(result);
  assert.equal(list.length, 1, JSON.stringify(list));
  const [first] = list;
  if (!first) return assert.fail('no issue');
  return first;
}

const CONTRACT_EXAMPLE = `name: green_taxi_etl
uuid: green_taxi_etl
type: batch
variables: { }                  # global pipeline variables
blocks:
  - uuid: load_green_taxi
    type: data_loader
    language: sql
    upstream_blocks: []
    configuration: { data_provider: duckdb, data_provider_profile: default }
  - uuid: clean
    type: transformer
    language: typescript
    upstream_blocks: [load_green_taxi]
`;

describe('parsePipeline: valid files', () => {
  test('the CONTRACTS.md example', () => {
    const p = ok(parse(CONTRACT_EXAMPLE));
    assert.equal(p.uuid, 'green_taxi_etl');
    assert.equal(p.name, 'green_taxi_etl');
    assert.equal(p.type, 'batch');
    assert.deepEqual(p.variables, {});
    assert.deepEqual(p.blocks, [
      {
        uuid: 'load_green_taxi',
        name: 'load_green_taxi',
        type: 'data_loader',
        language: 'sql',
        upstream: [],
        configuration: { data_provider: 'duckdb', data_provider_profile: 'default' },
        file: 'data_loaders/load_green_taxi.sql',
      },
      {
        uuid: 'clean',
        name: 'clean',
        type: 'transformer',
        language: 'typescript',
        upstream: ['load_green_taxi'],
        configuration: {},
        file: 'transformers/clean.ts',
      },
    ]);
  });

  test('defaults: uuid from the folder, name from uuid, batch, typescript, no upstream', () => {
    const p = ok(parse('blocks:\n  - uuid: export_it\n    type: data_exporter\n', 'my_pipe'));
    assert.equal(p.uuid, 'my_pipe');
    assert.equal(p.name, 'my_pipe');
    assert.equal(p.type, 'batch');
    const [b] = p.blocks;
    assert.ok(b);
    assert.equal(b.language, 'typescript');
    assert.equal(b.name, 'export_it');
    assert.deepEqual(b.upstream, []);
    assert.deepEqual(b.configuration, {});
    assert.equal(b.file, 'data_exporters/export_it.ts');
  });

  test('empty file and null lists are an empty pipeline', () => {
    assert.deepEqual(ok(parse('', 'p')), { uuid: 'p', name: 'p', type: 'batch', variables: {}, blocks: [], conditionals: [], callbacks: [] });
    const p = ok(parse('blocks:\nvariables:\n', 'p'));
    assert.deepEqual(p.blocks, []);
    assert.deepEqual(p.variables, {});
    const q = ok(parse('blocks:\n  - uuid: a\n    type: transformer\n    upstream_blocks:\n    configuration:\n', 'p'));
    assert.deepEqual(q.blocks[0]?.upstream, []);
    assert.deepEqual(q.blocks[0]?.configuration, {});
  });

  test('explicit names, variables and upstream order are kept', () => {
    const p = ok(
      parse(
        `name: Green taxi
uuid: green_taxi_etl
variables:
  limit: 10
  region: { code: eu, zones: [1, 2] }
blocks:
  - uuid: a
    name: Load A
    type: data_loader
  - uuid: b
    type: data_loader
  - uuid: j
    type: transformer
    upstream_blocks: [b, a]
`,
      ),
    );
    assert.equal(p.name, 'Green taxi');
    assert.deepEqual(p.variables, { limit: 10, region: { code: 'eu', zones: [1, 2] } });
    assert.equal(p.blocks[0]?.name, 'Load A');
    assert.deepEqual(p.blocks[2]?.upstream, ['b', 'a']);
  });

  test('unknown keys are tolerated at the top level and in blocks', () => {
    const p = ok(
      parse(`uuid: green_taxi_etl
executor_type: local_python
cache_block_output_in_memory: false
blocks:
  - uuid: a
    type: data_loader
    executor_config: null
    retry_config: { retries: 2 }
`),
    );
    assert.equal(p.blocks.length, 1);
    assert.equal(p.blocks[0]?.uuid, 'a');
  });
});

describe('parsePipeline: errors', () => {
  test('malformed YAML gives a message and the line of the problem', () => {
    const issue = only(parse('name: x\nblocks:\n  - uuid: a\n    type: [oops\n'));
    assert.match(issue.message, /^malformed YAML: /);
    assert.equal(issue.message.includes('\n'), false);
    assert.equal(typeof issue.line, 'number');
    assert.ok(issue.line !== undefined && issue.line >= 4, `line ${String(issue.line)}`);
  });

  test('malformed YAML: duplicate key points at the duplicate', () => {
    const issue = only(parse('name: x\nuuid: green_taxi_etl\nname: y\n'));
    assert.match(issue.message, /malformed YAML: .*unique/);
    assert.equal(issue.line, 3);
  });

  test('malformed YAML: bad indentation on line 3', () => {
    const list = issues(parse('blocks:\n  - uuid: a\n   type: transformer\n'));
    assert.match(list[0]?.message ?? '', /^malformed YAML: /);
    assert.equal(list[0]?.line, 3);
  });

  test('top level that is not a mapping', () => {
    const issue = only(parse('- a\n- b\n'));
    assert.match(issue.message, /expected object/);
  });

  test('blocks that is not a list', () => {
    const issue = only(parse('blocks: { a: 1 }\n'));
    assert.match(issue.message, /^blocks: /);
  });

  test('unsupported pipeline type names the type and its line', () => {
    const issue = only(parse('uuid: green_taxi_etl\ntype: streaming\n'));
    assert.match(issue.message, /pipeline type "streaming" is not supported/);
    assert.equal(issue.line, 2);
  });

  test('uuid / folder mismatch names both and the line', () => {
    const issue = only(parse('name: n\nuuid: other_name\nblocks: []\n'));
    assert.equal(issue.message, 'uuid "other_name" does not match the pipeline folder "green_taxi_etl"');
    assert.equal(issue.line, 2);
    assert.equal(issue.block, undefined);
  });

  test('unknown block type names the block, the type and the line', () => {
    const issue = only(
      parse(`uuid: green_taxi_etl
blocks:
  - uuid: ok_block
    type: data_loader
  - uuid: scratch
    type: dbt
`),
    );
    assert.equal(issue.block, 'scratch');
    assert.equal(issue.line, 5);
    assert.match(issue.message, /unknown block type "dbt"/);
    assert.match(issue.message, /data_loader, transformer, data_exporter, sensor, markdown, scratchpad/);
  });

  test('unknown language names the block, the language and the line', () => {
    const issue = only(
      parse(`blocks:
  - uuid: py
    type: transformer
    language: python
`),
    );
    assert.equal(issue.block, 'py');
    assert.equal(issue.line, 2);
    assert.match(issue.message, /unknown language "python" \(expected typescript, sql\)/);
  });

  test('bad block uuid is reported with the block and its line', () => {
    const issue = only(
      parse(`blocks:
  - uuid: good
    type: data_loader
  - uuid: ../escape
    type: transformer
`),
    );
    assert.equal(issue.block, '../escape');
    assert.equal(issue.line, 4);
    assert.match(issue.message, /^uuid: must be letters, digits and _/);
  });

  test('uuid with a dash or a leading digit is rejected', () => {
    assert.match(only(parse('blocks:\n  - uuid: load-data\n    type: data_loader\n')).message, /uuid: must be letters/);
    assert.match(only(parse('blocks:\n  - uuid: 1load\n    type: data_loader\n')).message, /uuid: must be letters/);
  });

  test('block without uuid is named by its position', () => {
    const issue = only(parse('blocks:\n  - uuid: a\n    type: data_loader\n  - type: transformer\n'));
    assert.equal(issue.block, '#2');
    assert.equal(issue.line, 4);
    assert.match(issue.message, /^uuid: /);
  });

  test('block that is not a mapping is named by its position', () => {
    const issue = only(parse('blocks:\n  - just_a_string\n'));
    assert.equal(issue.block, '#1');
    assert.equal(issue.line, 2);
  });

  test('wrong field types are named by key', () => {
    const issue = only(parse('blocks:\n  - uuid: a\n    type: transformer\n    upstream_blocks: load\n'));
    assert.equal(issue.block, 'a');
    assert.match(issue.message, /^upstream_blocks: /);
    const conf = only(parse('blocks:\n  - uuid: a\n    type: transformer\n    configuration: [1]\n'));
    assert.match(conf.message, /^configuration: /);
  });

  test('all problems are reported at once', () => {
    const list = issues(
      parse(`uuid: wrong
type: streaming
blocks:
  - uuid: a
    type: nope
  - uuid: b
    type: transformer
    language: rust
`),
    );
    assert.equal(list.length, 4);
    assert.deepEqual(
      list.map((i) => [i.block, i.line]),
      [
        [undefined, 2],
        [undefined, 1],
        ['a', 4],
        ['b', 6],
      ],
    );
  });
});

describe('blockLines', () => {
  test('maps each block uuid to the line of its entry', () => {
    const lines = blockLines(CONTRACT_EXAMPLE);
    assert.deepEqual([...lines], [
      ['load_green_taxi', 6],
      ['clean', 11],
    ]);
  });

  test('keeps the first line of a duplicated uuid and skips non-maps', () => {
    const lines = blockLines('blocks:\n  - uuid: a\n  - text\n  - uuid: a\n  - uuid: b\n');
    assert.deepEqual([...lines], [
      ['a', 2],
      ['b', 5],
    ]);
  });

  test('conditionals and callbacks get the lines of their entries too', () => {
    const lines = blockLines('blocks:\n  - uuid: a\nconditionals:\n  - uuid: only_weekdays\n    upstream_blocks: [a]\ncallbacks:\n  - uuid: notify\n');
    assert.deepEqual([...lines], [
      ['a', 2],
      ['only_weekdays', 4],
      ['notify', 7],
    ]);
  });

  test('a parsed pipeline keeps conditionals and callbacks with their files, typescript only', () => {
    const parsed = parsePipeline('blocks:\n  - uuid: a\n    type: data_loader\nconditionals:\n  - uuid: weekdays\n    upstream_blocks: [a]\ncallbacks:\n  - uuid: notify\n    upstream_blocks: [a]\n', 'p.yaml', 'p');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.conditionals.map((c) => [c.uuid, c.kind, c.file, c.upstream]), [['weekdays', 'conditional', 'conditionals/weekdays.ts', ['a']]]);
    assert.deepEqual(parsed.value.callbacks.map((c) => [c.uuid, c.kind, c.file]), [['notify', 'callback', 'callbacks/notify.ts']]);
    const python = parsePipeline('blocks: []\ncallbacks:\n  - uuid: notify\n    language: python\n', 'p.yaml', 'p');
    assert.ok(!python.ok && /a callback is written in typescript, not "python"/.test(python.issues[0]?.message ?? ''));
    const markdownSql = parsePipeline('blocks:\n  - uuid: notes\n    type: markdown\n    language: sql\n', 'p.yaml', 'p');
    assert.ok(!markdownSql.ok && /a markdown block cannot be written in sql/.test(markdownSql.issues[0]?.message ?? ''));
    const notes = parsePipeline('blocks:\n  - uuid: notes\n    type: markdown\n', 'p.yaml', 'p');
    assert.ok(notes.ok && notes.value.blocks[0]?.file === 'markdowns/notes.md');
  });

  test('no blocks list gives an empty map', () => {
    assert.equal(blockLines('name: x\n').size, 0);
    assert.equal(blockLines('').size, 0);
  });
});
