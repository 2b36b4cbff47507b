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
