import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsvRecordCounter } from '../../lib/io/csv-records';
import { progressText } from '../../lib/ui/progress-text';

test('CSV records are counted exactly across chunk boundaries, with newlines and quotes inside fields', () => {
  const csv = '1,plain\n2,"two\nlines"\n3,"say ""hi""\n"\n4,last\n';
  for (let cut = 0; cut <= csv.length; cut++) {
    const counter = new CsvRecordCounter();
    counter.push(Buffer.from(csv.slice(0, cut)));
    assert.equal(counter.push(Buffer.from(csv.slice(cut))), 4, `split at ${cut}`);
  }
  const counter = new CsvRecordCounter();
  assert.equal(counter.push(Buffer.from('a,"open\n')), 0);
  assert.equal(counter.push(Buffer.from('still open"\nb\n')), 2);
});

test('progress reads as exact rows when they are known, else as a percentage or bytes', () => {
  assert.equal(progressText({ phase: 'postgres_export', rows: 12345, total: 266855 }), '12,345 of 266,855 rows → Postgres');
  assert.equal(progressText({ phase: 'postgres_load', rows: 1 }), '1 row from Postgres');
  assert.equal(progressText({ phase: 'output', rows: 2000000 }), '2,000,000 rows in the output');
  assert.equal(progressText({ phase: 'query', percent: 42.4 }), '42% of the query');
  assert.equal(progressText({ phase: 'parquet_export', percent: 7, total: 1000 }), '7% of 1,000 rows → Parquet');
  assert.equal(progressText({ phase: 'download', bytes: 3_250_000 }), '3.3 MB downloaded');
});
