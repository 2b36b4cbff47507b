/**
 * query_output may name a dynamic block's child run (`<uuid>:<key>`), and nothing that could become
 * a path or another table: the server asks the kernel for outputName(name), ':' -> '.'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientMessageSchema } from '../../lib/protocol/messages';
import { outputName } from '../../lib/run/fan-out';

const ask = (block: string) =>
  clientMessageSchema.safeParse({ type: 'query_output', project: 'demo', pipeline: 'etl', block, requestId: 'r1', query: { kind: 'page', offset: 0, limit: 10 } }).success;

test('a block and its children (keys of letters, digits, _ and -, nested) are accepted', () => {
  for (const name of ['load', 'per_item:0', 'per_item:12', 'load_month:2020-10', 'x:a_b:3']) assert.ok(ask(name), name);
  assert.equal(outputName('load_month:2020-10'), 'load_month.2020-10');
});

test('anything else is refused: dots, slashes, empty keys, a leading colon or digit, spaces, quotes', () => {
  for (const name of ['', '../x', 'a/b', 'a:', ':a', 'a::b', '1a', 'a:b.c', 'a:..', 'a b', 'a:"b', 'a;drop', `a:${'k'.repeat(101)}`, 'a:\u0000']) {
    assert.equal(ask(name), false, JSON.stringify(name));
  }
});

test('run messages still take a plain block name only', () => {
  const run = (block: string) => clientMessageSchema.safeParse({ type: 'run_block', project: 'demo', pipeline: 'etl', block }).success;
  assert.ok(run('per_item'));
  assert.equal(run('per_item:0'), false);
});
