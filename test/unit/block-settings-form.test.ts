import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editsFromForm, formFromBlock } from '../../lib/ui/block-settings-form';
import { type EditorBlock } from '../../lib/protocol/editor-api';

const block: EditorBlock = {
  uuid: 'clean',
  name: 'clean',
  type: 'transformer',
  language: 'sql',
  upstream: ['load'],
  file: 'transformers/clean.sql',
  configuration: { data_provider: 'duckdb', destination: { type: 'postgres', schema: 'mage', table: 'trips', unique_constraints: ['id', 'day'] } },
  retry_config: { retries: 2, exponential_backoff: false },
  timeout: 60,
};

test('an unchanged form gives back the block as it is (settings only, no rename or move)', () => {
  const form = formFromBlock(block);
  assert.equal(form.uniqueConstraints, 'id, day');
  const { edits, errors } = editsFromForm(block, form);
  assert.deepEqual(errors, {});
  assert.deepEqual(edits, [
    {
      kind: 'set_block_settings',
      uuid: 'clean',
      retry_config: { retries: 2, exponential_backoff: false },
      timeout: 60,
      destination: { type: 'postgres', profile: 'default', table: 'trips', write_policy: 'replace', schema: 'mage', unique_constraints: ['id', 'day'] },
    },
  ]);
});

test('each bad field is named; a rename comes after the edits that name the block by its old uuid', () => {
  const bad = editsFromForm(block, { ...formFromBlock(block), retries: '1.5', delay: '-1', timeout: '0', destination: 'parquet', path: ' ', name: '9x' });
  assert.deepEqual(Object.keys(bad.errors).sort(), ['delay', 'name', 'path', 'retries', 'timeout']);
  assert.equal(bad.errors.retries, 'Retries must be a whole number');
  const good = editsFromForm(block, { ...formFromBlock(block), name: 'clean_trips', type: 'data_exporter', upstream: [], destination: '', retries: '', backoff: '', timeout: '' });
  assert.deepEqual(good.errors, {});
  assert.deepEqual(
    good.edits.map((e) => e.kind),
    ['set_upstream', 'set_block_settings', 'change_block_kind', 'rename_block'],
  );
  assert.deepEqual(good.edits[1], { kind: 'set_block_settings', uuid: 'clean', retry_config: null, timeout: null, destination: null });
});

test('a Parquet destination in a bucket keeps its profile; a scheme Grimoire cannot write is named on the path field', () => {
  const toBucket = editsFromForm(block, { ...formFromBlock(block), destination: 'parquet', path: 's3://lake/green_taxi', profile: 'aws', partitionBy: 'pickup_date' });
  assert.deepEqual(toBucket.errors, {});
  assert.deepEqual(toBucket.edits.find((e) => e.kind === 'set_block_settings'), {
    kind: 'set_block_settings',
    uuid: 'clean',
    retry_config: { retries: 2, exponential_backoff: false },
    timeout: 60,
    destination: { type: 'parquet', path: 's3://lake/green_taxi', write_policy: 'replace', profile: 'aws', partition_by: ['pickup_date'] },
  });
  const gcs = editsFromForm(block, { ...formFromBlock(block), destination: 'parquet', path: 'gs://lake/x' });
  assert.match(gcs.errors.path ?? '', /gs:\/\/ is not supported/);
  const root = editsFromForm(block, { ...formFromBlock(block), destination: 'parquet', path: 's3://lake' });
  assert.match(root.errors.path ?? '', /a lake never takes a whole bucket/);
});
