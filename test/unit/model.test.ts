import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLOCK_FOLDERS,
  BLOCK_LANGUAGES,
  BLOCK_TYPES,
  FOLDER_NAME_PATTERN,
  IDENTIFIER_PATTERN,
  LANGUAGE_EXTENSIONS,
  blockFilePath,
} from '../../lib/pipeline/model';
import { PipelineInvalidError, formatIssue } from '../../lib/pipeline/issues';

describe('model', () => {
  test('block types and languages are the public (Mage) strings', () => {
    assert.deepEqual([...BLOCK_TYPES], ['data_loader', 'transformer', 'data_exporter', 'sensor', 'markdown', 'scratchpad']);
    assert.deepEqual([...BLOCK_LANGUAGES], ['typescript', 'sql', 'markdown']);
    assert.deepEqual(BLOCK_FOLDERS, {
      data_loader: 'data_loaders',
      transformer: 'transformers',
      data_exporter: 'data_exporters',
      sensor: 'sensors',
      markdown: 'markdowns',
      scratchpad: 'scratchpads',
    });
    assert.deepEqual(LANGUAGE_EXTENSIONS, { typescript: 'ts', sql: 'sql', markdown: 'md' });
  });

  test('blockFilePath is <type folder>/<uuid>.<ext>', () => {
    assert.equal(blockFilePath('data_loader', 'load_green_taxi', 'sql'), 'data_loaders/load_green_taxi.sql');
    assert.equal(blockFilePath('transformer', 'clean', 'typescript'), 'transformers/clean.ts');
    assert.equal(blockFilePath('data_exporter', 'export', 'typescript'), 'data_exporters/export.ts');
  });

  test('IDENTIFIER_PATTERN accepts boring identifiers only', () => {
    for (const good of ['a', '_a', 'load_green_taxi', 'A1', '_1']) assert.ok(IDENTIFIER_PATTERN.test(good), good);
    for (const bad of ['', '1a', 'a-b', 'a.b', 'a b', '../x', 'a/b', 'é', 'drop;table']) assert.ok(!IDENTIFIER_PATTERN.test(bad), bad);
  });

  test('FOLDER_NAME_PATTERN forbids separators and a leading dot', () => {
    for (const good of ['etl', 'green-taxi.v2', '1st', 'a_b']) assert.ok(FOLDER_NAME_PATTERN.test(good), good);
    for (const bad of ['', '.', '..', '.hidden', 'a/b', 'a\\b', '-x', 'a b']) assert.ok(!FOLDER_NAME_PATTERN.test(bad), bad);
  });
});

describe('issues', () => {
  test('formatIssue names file, line and block', () => {
    assert.equal(formatIssue({ file: 'pipelines/etl/metadata.yaml', line: 7, block: 'clean', message: 'boom' }), 'pipelines/etl/metadata.yaml:7 (block clean): boom');
  });

  test('formatIssue without line or block', () => {
    assert.equal(formatIssue({ file: 'f.yaml', message: 'boom' }), 'f.yaml: boom');
    assert.equal(formatIssue({ file: 'f.yaml', block: 'b', message: 'boom' }), 'f.yaml (block b): boom');
    assert.equal(formatIssue({ file: 'f.yaml', line: 1, message: 'boom' }), 'f.yaml:1: boom');
  });

  test('PipelineInvalidError carries the issues and lists them one per line', () => {
    const issues = [
      { file: 'a.yaml', line: 2, message: 'first' },
      { file: 'a.yaml', block: 'x', message: 'second' },
    ];
    const err = new PipelineInvalidError(issues);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'PipelineInvalidError');
    assert.deepEqual(err.issues, issues);
    assert.equal(err.message, 'a.yaml:2: first\na.yaml (block x): second');
  });
});
