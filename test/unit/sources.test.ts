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
  // Lists of scalars are Postgres arrays (issue #13); nested lists and structs travel as JSON.
  assert.equal(pgColumnFor('l', 'INTEGER[]').pgType, 'integer[]');
  assert.match(pgColumnFor('l', 'INTEGER[]').select, /array_to_string\(list_transform/);
  assert.equal(pgColumnFor('l', 'INTEGER[][]').pgType, 'jsonb');
  assert.equal(pgColumnFor('s', 'STRUCT(k INTEGER)').pgType, 'jsonb');
  assert.equal(duckTypeForPg('text[]'), 'VARCHAR[]');
  assert.equal(duckTypeForPg('numeric(20,2)[]'), 'DECIMAL(20,2)[]');
  assert.equal(duckTypeForPg('numeric[]'), 'VARCHAR[]');
  assert.equal(duckTypeForPg('bytea[]'), 'JSON');
  assert.equal(duckTypeForPg('numeric(50,20)'), 'VARCHAR', 'wider than a DECIMAL: decided from the values');
  assert.equal(duckTypeForPg('timestamp without time zone'), 'TIMESTAMP');
  assert.equal(duckTypeForPg('timestamp with time zone'), 'TIMESTAMPTZ');
  assert.equal(duckTypeForPg('numeric(12,3)'), 'DECIMAL(12,3)');
  assert.equal(duckTypeForPg('character varying(20)'), 'VARCHAR');
});
