import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readQuery } from '../../lib/io/sources';
import { duckTypeForPg, pgColumnFor } from '../../lib/io/pg-types';

test('readQuery picks the reader from the extension and passes explicit types and formats', () => {
  assert.equal(readQuery(['/d/a.parquet']), "SELECT * FROM read_parquet(['/d/a.parquet'], union_by_name = true)");
  assert.match(readQuery(['/d/*.ndjson']), /^SELECT \* FROM read_json\(\['\/d\/\*\.ndjson'\]\)$/);
  const csv = readQuery(['/d/green_2020-10.csv.gz', "/d/it's.csv.gz"], { columns: { VendorID: 'BIGINT' }, timestampFormat: '%Y-%m-%d %H:%M:%S' });
  assert.equal(
    csv,
    "SELECT * FROM read_csv(['/d/green_2020-10.csv.gz', '/d/it''s.csv.gz'], columns = {'VendorID': 'BIGINT'}, timestampformat = '%Y-%m-%d %H:%M:%S', header = true)",
  );
  assert.match(readQuery(['/d/x.txt'], { format: 'csv', header: false, delimiter: ';' }), /header = false, delim = ';'\)$/);
});

test('DuckDB and Postgres types map both ways without losing timestamps or integers', () => {
  assert.equal(pgColumnFor('ts', 'TIMESTAMP').pgType, 'timestamp');
  assert.equal(pgColumnFor('n', 'BIGINT').pgType, 'bigint');
  assert.equal(pgColumnFor('d', 'DECIMAL(10,2)').pgType, 'numeric(10,2)');
  assert.equal(pgColumnFor('l', 'INTEGER[]').pgType, 'jsonb');
  assert.match(pgColumnFor('l', 'INTEGER[]').select, /to_json/);
  assert.equal(duckTypeForPg('timestamp without time zone'), 'TIMESTAMP');
  assert.equal(duckTypeForPg('timestamp with time zone'), 'TIMESTAMPTZ');
  assert.equal(duckTypeForPg('numeric(12,3)'), 'DECIMAL(12,3)');
  assert.equal(duckTypeForPg('character varying(20)'), 'VARCHAR');
});
