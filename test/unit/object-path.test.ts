import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIoConfig, secretsOf } from '../../lib/io/io-config';
import { globMatcher, hivePartitions, listPrefix, parseLakeUrl, parseObjectUrl, unsupportedScheme } from '../../lib/io/object-path';
import { cachePathOf } from '../../lib/io/object-lake';

test('s3:// addresses: bucket and key, refused with the reason', () => {
  assert.deepEqual(parseObjectUrl('s3://my-bucket/lake/green_taxi/'), { bucket: 'my-bucket', key: 'lake/green_taxi' });
  assert.deepEqual(parseObjectUrl('S3://b.example/x.parquet'), { bucket: 'b.example', key: 'x.parquet' });
  assert.deepEqual(parseObjectUrl('s3://bucket'), { bucket: 'bucket', key: '' });
  assert.throws(() => parseObjectUrl('s3://My_Bucket/x'), /"My_Bucket" is not a bucket name/);
  assert.throws(() => parseObjectUrl('s3:///x'), /"" is not a bucket name/);
  assert.throws(() => parseObjectUrl('s3://bucket/a//b'), /empty, "\." or "\.\." segments/);
  assert.throws(() => parseObjectUrl('s3://bucket/a/../b'), /empty, "\." or "\.\." segments/);
  assert.throws(() => parseLakeUrl('s3://bucket/'), /a lake never takes a whole bucket/);
  assert.throws(() => parseLakeUrl('s3://bucket/lake/*'), /a folder, not a pattern/);
});

test('schemes Grimoire cannot honour are named; local paths, s3 and (for reads) http pass', () => {
  assert.equal(unsupportedScheme('lake/trips', false), null);
  assert.equal(unsupportedScheme('s3://b/x', false), null);
  assert.equal(unsupportedScheme('https://x.org/a.csv', true), null);
  assert.match(unsupportedScheme('https://x.org/a', false) ?? '', /https:\/\/ is not supported; use a path in the project or s3:\/\/<bucket>\/<prefix>$/);
  assert.match(unsupportedScheme('gs://b/x', false) ?? '', /gs:\/\/ is not supported.*AWS_ENDPOINT: https:\/\/storage\.googleapis\.com/);
  assert.match(unsupportedScheme('file:///tmp/x', true) ?? '', /file:\/\/ is not supported/);
  assert.match(unsupportedScheme('az://c/x', true) ?? '', /or an http\(s\) URL/);
  // Anything that starts like a scheme is not a local folder: a typo is named, never written to `s3:`.
  assert.match(unsupportedScheme('s3:/lake/typo', false) ?? '', /s3: without \/\/ is not a place Grimoire knows; did you mean s3:\/\/lake\/typo\?/);
  assert.match(unsupportedScheme('s3:lake', false) ?? '', /did you mean s3:\/\/lake\?/);
  assert.match(unsupportedScheme('gs:/lake/x', false) ?? '', /gs: without \/\//);
  assert.match(unsupportedScheme('file:/etc', true) ?? '', /file: without \/\//);
  assert.match(unsupportedScheme(' s3://lake/space', false) ?? '', /may not start or end with spaces/);
  assert.equal(unsupportedScheme('lake/2020:10', false), null, 'a colon later in a local path is fine');
});

test('globs over keys: ** crosses folders, * and ? stay in one, [..] and {..} choose', () => {
  const m = globMatcher('lake/**/*.parquet');
  assert.equal(m('lake/a=1/part.parquet'), true);
  assert.equal(m('lake/part.parquet'), true, '**/ also matches no folder');
  assert.equal(m('lake/a=1/b=2/part.parquet'), true);
  assert.equal(m('lake/a=1/part.csv'), false);
  assert.equal(m('other/part.parquet'), false);
  const one = globMatcher('raw/*.csv.gz');
  assert.equal(one('raw/green_2020-10.csv.gz'), true);
  assert.equal(one('raw/sub/green.csv.gz'), false);
  assert.equal(globMatcher('d=2020-10-0[12]/*')('d=2020-10-02/x'), true);
  assert.equal(globMatcher('d=2020-10-0[12]/*')('d=2020-10-03/x'), false);
  assert.equal(globMatcher('{a,b}/x?.txt')('b/x1.txt'), true);
  assert.equal(globMatcher('{a,b}/x?.txt')('c/x1.txt'), false);
  assert.equal(globMatcher('a.b/(x)+')('a.b/(x)+'), true, 'regex characters are literal');
  assert.equal(globMatcher('a.b/x')('aXb/x'), false);
  assert.throws(() => globMatcher('a[bc'), /\[ without \]/);
  assert.equal(globMatcher('x/[!0]*')('x/1a'), true);
  assert.equal(globMatcher('x/[a-c]?')('x/bz'), true);
  assert.equal(globMatcher('{a,{b,c}}/*')('c/x'), true, 'nested braces');
  // Patterns that make a backtracking regex take minutes answer at once.
  const started = Date.now();
  assert.equal(globMatcher(`${'*a'.repeat(12)}b`)('a'.repeat(40)), false);
  assert.equal(globMatcher(`${'**/'.repeat(8)}x`)(`${'d/'.repeat(40)}y`), false);
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.equal(listPrefix('lake/trips/**/*.parquet'), 'lake/trips/');
  assert.equal(listPrefix('lake/d=2020-10-0[12]/*.parquet'), 'lake/');
  assert.equal(listPrefix('*.csv'), '');
  assert.equal(listPrefix('lake/x.csv'), 'lake/x.csv');
});

test('hive partitions of a key, URL-decoded, below the lake root only', () => {
  assert.deepEqual(hivePartitions('lake/trips/pickup_date=2020-10-01/vendor=2/part_1.parquet', 'lake/trips'), { pickup_date: '2020-10-01', vendor: '2' });
  assert.deepEqual(hivePartitions('x=1/part.parquet', ''), { x: '1' });
  assert.deepEqual(hivePartitions('a=b/lake/part.parquet', 'a=b/lake'), {}, 'the root is not a partition');
  assert.deepEqual(hivePartitions('l/city=New%20York/p.parquet', 'l'), { city: 'New York' });
  assert.deepEqual(hivePartitions('l/pct=100%/p.parquet', 'l'), { pct: '100%' }, 'not URL-encoded: kept as written');
});

test("io_config.yaml's AWS_* keys make an object-storage profile; its credentials are masked", () => {
  const profiles = parseIoConfig(
    "default:\n  AWS_ACCESS_KEY_ID: AKIAEXAMPLE\n  AWS_SECRET_ACCESS_KEY: \"{{ env_var('S') }}\"\n  AWS_ENDPOINT: http://127.0.0.1:9000/\ngcs:\n  AWS_ACCESS_KEY_ID: GOOG1\n  AWS_SECRET_ACCESS_KEY: hmac-secret\n  AWS_REGION: auto\n  AWS_ENDPOINT: https://storage.googleapis.com\n",
    { S: 'the-secret-key' },
  );
  assert.deepEqual(profiles.get('default')?.s3, { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'the-secret-key', sessionToken: undefined, region: 'us-east-1', endpoint: 'http://127.0.0.1:9000' });
  assert.equal(profiles.get('gcs')?.s3?.region, 'auto');
  assert.deepEqual(secretsOf(profiles).sort(), ['AKIAEXAMPLE', 'GOOG1', 'hmac-secret', 'the-secret-key']);
  assert.throws(() => parseIoConfig('default:\n  AWS_ACCESS_KEY_ID: x\n', {}), /profile default: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together/);
  assert.throws(() => parseIoConfig('default:\n  AWS_ACCESS_KEY_ID: x\n  AWS_SECRET_ACCESS_KEY: y\n  AWS_ENDPOINT: 127.0.0.1:9000\n', {}), /AWS_ENDPOINT must be a server address like http:\/\/127\.0\.0\.1:9000/);
});

test('a key never writes outside the download cache, whatever its segments', () => {
  const home = '/cache/abc/lake';
  assert.equal(cachePathOf(home, 'trips/day=2020-10-01/part_1.parquet', '"9f0e"'), '/cache/abc/lake/trips/day=2020-10-01/9f0e--part_1.parquet');
  for (const key of ['../../etc/passwd', 'a/../../../x.parquet', '/abs/x', 'a//b/../../../c', '..', '.', 'a/./b', '..\\..\\x']) {
    const file = cachePathOf(home, key, 'e');
    assert.ok(file.startsWith(`${home}/`) && !file.slice(home.length).split('/').includes('..'), `${key} -> ${file}`);
  }
  assert.notEqual(cachePathOf(home, 'a/b', 'e'), cachePathOf(home, 'a//b', 'e'), 'different keys, different files');
});
