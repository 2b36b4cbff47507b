import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blockLines, parsePipeline } from '../../lib/pipeline/parse-pipeline';
import { validatePipeline } from '../../lib/pipeline/validate';
import { formatIssue, type PipelineIssue } from '../../lib/pipeline/issues';
import { blockFilePath, type Block, type Pipeline } from '../../lib/pipeline/model';

const FILE = 'pipelines/etl/metadata.yaml';

function block(uuid: string, upstream: string[] = [], type: Block['type'] = 'transformer'): Block {
  return { uuid, name: uuid, type, language: 'typescript', upstream, configuration: {}, file: blockFilePath(type, uuid, 'typescript') };
}

function pipeline(blocks: Block[]): Pipeline {
  return { uuid: 'etl', name: 'etl', type: 'batch', variables: {}, blocks, conditionals: [], callbacks: [] };
}

const filesOf = (blocks: readonly Block[]) => new Set(blocks.map((b) => b.file));

/** Parses YAML text (must parse) and validates it with the real block lines, as the loader does. */
function validateText(text: string, files?: ReadonlySet<string>): PipelineIssue[] {
  const parsed = parsePipeline(text, FILE, 'etl');
  if (!parsed.ok) return assert.fail(JSON.stringify(parsed.issues));
  return validatePipeline(parsed.value, FILE, files ?? filesOf(parsed.value.blocks), blockLines(text));
}

function only(list: PipelineIssue[]): PipelineIssue {
  assert.equal(list.length, 1, JSON.stringify(list));
  const [first] = list;
  if (!first) return assert.fail('no issue');
  return first;
}

describe('validatePipeline: the block kinds', () => {
  const messages = (issues: PipelineIssue[]) => issues.map((i) => `${i.block}@${i.line}: ${i.message}`);

  test('add-ons: files, attachments and duplicates, at the lines of their entries', () => {
    const text = 'blocks:\n  - uuid: a\n    type: data_loader\nconditionals:\n  - uuid: gate\n    upstream_blocks: [a, ghost]\n  - uuid: gate\n    upstream_blocks: [a]\ncallbacks:\n  - uuid: lonely\n';
    const files = new Set(['data_loaders/a.ts', 'conditionals/gate.ts']);
    assert.deepEqual(messages(validateText(text, files)), [
      'gate@5: the conditional is attached to "ghost", which is not a block of this pipeline',
      'gate@5: duplicate conditional uuid "gate"',
      'lonely@10: callback file callbacks/lonely.ts is missing',
      'lonely@10: the callback is attached to no block: list them in its upstream_blocks',
    ]);
  });

  test('markdown and scratchpads cannot be upstream; sensor and cache settings are checked', () => {
    const text = [
      'blocks:',
      '  - uuid: notes',
      '    type: markdown',
      '  - uuid: wait',
      '    type: sensor',
      '    configuration: { poke_interval: 0.01, timeout: -1 }',
      '  - uuid: b',
      '    type: transformer',
      '    upstream_blocks: [notes, wait]',
      '    configuration: { cache: { expiration: soon } }',
      '',
    ].join('\n');
    const files = new Set(['markdowns/notes.md', 'sensors/wait.ts', 'transformers/b.ts']);
    assert.deepEqual(messages(validateText(text, files)), [
      'wait@4: configuration.poke_interval must be a number of seconds >= 0.1',
      'wait@4: configuration.timeout must be a number of seconds above 0',
      'b@7: upstream block "notes" is a markdown block, which pipeline runs skip: no block can depend on it',
      'b@7: configuration.cache.expiration must be a duration such as 30m, 12h, 1d or 2w (or seconds), got "soon"',
    ]);
  });

  test('a block that reads two different fan-outs is refused, naming them', () => {
    const two = 'blocks:\n  - uuid: a\n    type: data_loader\n    configuration: { dynamic: true }\n  - uuid: b\n    type: data_loader\n    configuration: { dynamic: true }\n  - uuid: c\n    type: transformer\n    upstream_blocks: [a, b]\n';
    const files = new Set(['data_loaders/a.ts', 'data_loaders/b.ts', 'transformers/c.ts']);
    assert.match(only(validateText(two, files)).message, /reads two different fan-outs/);
  });
});

describe('validatePipeline', () => {
  test('a valid pipeline has no issues', () => {
    const blocks = [block('a', [], 'data_loader'), block('b', ['a']), block('c', ['a', 'b'], 'data_exporter')];
    assert.deepEqual(validatePipeline(pipeline(blocks), FILE, filesOf(blocks)), []);
    assert.deepEqual(validatePipeline(pipeline([]), FILE, new Set()), []);
  });

  test('duplicate uuid names the file, block and line', () => {
    const text = `uuid: etl
blocks:
  - uuid: load
    type: data_loader
  - uuid: load
    type: data_loader
`;
    const issue = only(validateText(text));
    assert.equal(issue.file, FILE);
    assert.equal(issue.block, 'load');
    assert.equal(issue.message, 'duplicate block uuid "load"');
    assert.equal(typeof issue.line, 'number');
    assert.ok(issue.line === 3 || issue.line === 5);
  });

  test('unknown upstream names the file, block, line and the missing name', () => {
    const text = `blocks:
  - uuid: load
    type: data_loader
  - uuid: clean
    type: transformer
    upstream_blocks: [load, lod]
`;
    const issue = only(validateText(text));
    assert.deepEqual(issue, { file: FILE, block: 'clean', line: 4, message: 'upstream block "lod" does not exist in this pipeline' });
    assert.equal(formatIssue(issue), `${FILE}:4 (block clean): upstream block "lod" does not exist in this pipeline`);
  });

  test('upstream listed twice is reported', () => {
    const blocks = [block('a'), block('b', ['a', 'a'])];
    const issue = only(validatePipeline(pipeline(blocks), FILE, filesOf(blocks), new Map([['b', 9]])));
    assert.deepEqual(issue, { file: FILE, block: 'b', line: 9, message: 'upstream block "a" is listed twice' });
  });

  test('missing block file names the expected path, file, block and line', () => {
    const text = `blocks:
  - uuid: load
    type: data_loader
    language: sql
  - uuid: clean
    type: transformer
    upstream_blocks: [load]
`;
    const issue = only(validateText(text, new Set(['transformers/clean.ts', 'data_loaders/load.ts'])));
    assert.deepEqual(issue, { file: FILE, block: 'load', line: 2, message: 'block file data_loaders/load.sql is missing' });
  });

  test('cycle names the path, the file, a block on the cycle and its line', () => {
    const text = `blocks:
  - uuid: root
    type: data_loader
  - uuid: a
    type: transformer
    upstream_blocks: [root, b]
  - uuid: b
    type: transformer
    upstream_blocks: [a]
`;
    const issue = only(validateText(text));
    assert.equal(issue.file, FILE);
    assert.equal(issue.message, 'cycle in upstream_blocks: a -> b -> a');
    assert.equal(issue.block, 'a');
    assert.equal(issue.line, 4);
  });

  test('self-cycle', () => {
    const blocks = [block('a', ['a'])];
    const issue = only(validatePipeline(pipeline(blocks), FILE, filesOf(blocks), new Map([['a', 3]])));
    assert.deepEqual(issue, { file: FILE, block: 'a', line: 3, message: 'cycle in upstream_blocks: a -> a' });
  });

  test('several problems are all reported, each with file and block', () => {
    const blocks = [block('a', ['ghost']), block('a'), block('b', ['c']), block('c', ['b'])];
    const list = validatePipeline(pipeline(blocks), FILE, new Set(['transformers/a.ts']));
    const messages = list.map((i) => i.message);
    assert.ok(messages.includes('duplicate block uuid "a"'));
    assert.ok(messages.includes('upstream block "ghost" does not exist in this pipeline'));
    assert.ok(messages.includes('block file transformers/b.ts is missing'));
    assert.ok(messages.includes('block file transformers/c.ts is missing'));
    assert.ok(messages.some((m) => m.startsWith('cycle in upstream_blocks: ')));
    for (const issue of list) {
      assert.equal(issue.file, FILE);
      assert.equal(typeof issue.block, 'string');
    }
  });

  test('without a line map the line is left out', () => {
    const blocks = [block('a', ['ghost'])];
    const issue = only(validatePipeline(pipeline(blocks), FILE, filesOf(blocks)));
    assert.equal(issue.line, undefined);
    assert.equal(issue.block, 'a');
  });
});
