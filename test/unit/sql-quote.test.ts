import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { quoteIdentifier, quoteLiteral, quotePgEscapeLiteral } from '../../lib/sql-quote';

describe('quoteIdentifier', () => {
  test('double-quotes and doubles embedded double quotes', () => {
    assert.equal(quoteIdentifier('trips'), '"trips"');
    assert.equal(quoteIdentifier('a"b'), '"a""b"');
    assert.equal(quoteIdentifier('""'), '""""""');
    assert.equal(quoteIdentifier(''), '""');
  });

  test('a dot stays inside the one name; single quotes and backslashes are plain', () => {
    assert.equal(quoteIdentifier('public.trips'), '"public.trips"');
    assert.equal(quoteIdentifier(`it's\\x`), `"it's\\x"`);
  });

  test('a name that tries to end the quote stays one name', () => {
    assert.equal(quoteIdentifier('x"; DROP TABLE t; --'), '"x""; DROP TABLE t; --"');
  });

  test('refuses NUL', () => {
    assert.throws(() => quoteIdentifier('a\0b'), /NUL/);
  });
});

describe('quoteLiteral', () => {
  test('single-quotes and doubles embedded single quotes', () => {
    assert.equal(quoteLiteral('abc'), "'abc'");
    assert.equal(quoteLiteral("it's"), "'it''s'");
    assert.equal(quoteLiteral("''"), "''''''");
    assert.equal(quoteLiteral(''), "''");
  });

  test('double quotes, dots, backslashes and newlines are plain', () => {
    assert.equal(quoteLiteral('a"b.c\\d\ne'), `'a"b.c\\d\ne'`);
    assert.equal(quoteLiteral("/tmp/x'; DROP TABLE t; --.parquet"), "'/tmp/x''; DROP TABLE t; --.parquet'");
  });

  test('refuses NUL', () => {
    assert.throws(() => quoteLiteral('a\0b'), /NUL/);
  });
});

test("quotePgEscapeLiteral: backslashes and quotes doubled inside E'', NUL refused", () => {
  assert.equal(quotePgEscapeLiteral("it's"), "E'it''s'");
  assert.equal(quotePgEscapeLiteral("a\\'b"), "E'a\\\\''b'");
  assert.equal(quotePgEscapeLiteral('plain'), "E'plain'");
  assert.throws(() => quotePgEscapeLiteral('a\0b'), /NUL/);
});
