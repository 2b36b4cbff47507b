import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editsFromForm, formFromBlock, withType } from '../../lib/ui/block-settings-form';
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

test('Dynamic and Reduce output: read from configuration, and sent only when they change', () => {
  const loader: EditorBlock = { ...block, uuid: 'months', type: 'data_loader', language: 'typescript', upstream: [], file: 'data_loaders/months.ts', configuration: { dynamic: true } };
  const form = formFromBlock(loader);
  assert.equal(form.dynamic, true);
  assert.equal(form.reduceOutput, false);
  // Untouched: the settings edit carries neither key, so a save never rewrites them.
  const same = editsFromForm(loader, form).edits[0];
  assert.ok(same && same.kind === 'set_block_settings' && !('dynamic' in same) && !('reduce_output' in same));
  const changed = editsFromForm(loader, { ...form, dynamic: false, reduceOutput: true });
  assert.deepEqual(changed.errors, {});
  assert.deepEqual(changed.edits[0], { kind: 'set_block_settings', uuid: 'months', retry_config: { retries: 2, exponential_backoff: false }, timeout: 60, destination: null, dynamic: false, reduce_output: true });
  // A kind that does not fan out (a sensor) drops the flags with the type change.
  const toSensor = editsFromForm(loader, { ...withType(form, 'sensor'), destination: '' });
  assert.deepEqual(toSensor.errors, {});
  const settings = toSensor.edits.find((e) => e.kind === 'set_block_settings');
  assert.ok(settings && settings.kind === 'set_block_settings');
  assert.equal(settings.dynamic, false);
  assert.deepEqual(toSensor.edits.map((e) => e.kind), ['set_block_settings', 'change_block_kind']);
});

test('a sensor\'s poke interval and timeout: positive seconds, each bad value named by its field', () => {
  const sensor: EditorBlock = { ...block, uuid: 'wait_for_file', type: 'sensor', language: 'typescript', upstream: [], file: 'sensors/wait_for_file.ts', configuration: { poke_interval: 60 }, retry_config: null, timeout: null };
  const form = formFromBlock(sensor);
  assert.equal(form.pokeInterval, '60');
  assert.equal(form.sensorTimeout, '');
  const bad = editsFromForm(sensor, { ...form, pokeInterval: '0', sensorTimeout: 'soon' });
  assert.deepEqual(bad.errors, { pokeInterval: 'Poke interval must be more than 0', sensorTimeout: 'Sensor timeout must be a number' });
  assert.deepEqual(editsFromForm(sensor, { ...form, pokeInterval: '-3' }).errors, { pokeInterval: 'Poke interval must be more than 0' });
  const good = editsFromForm(sensor, { ...form, pokeInterval: '5', sensorTimeout: '3600' });
  assert.deepEqual(good.errors, {});
  assert.deepEqual(good.edits, [{ kind: 'set_block_settings', uuid: 'wait_for_file', retry_config: null, timeout: null, destination: null, poke_interval: 5, sensor_timeout: 3600 }]);
  // Emptied: the key is removed (null); unchanged: not sent.
  const cleared = editsFromForm(sensor, { ...form, pokeInterval: '' }).edits[0];
  assert.ok(cleared && cleared.kind === 'set_block_settings');
  assert.equal(cleared.poke_interval, null);
  assert.ok(!('sensor_timeout' in cleared));
  // Not a sensor: the fields are not read, so a stale value there is no error.
  assert.deepEqual(editsFromForm(block, { ...formFromBlock(block), pokeInterval: 'x' }).errors, {});
});

test('the language follows the type when the type is not written in it, and a bad pair is refused', () => {
  const form = formFromBlock(block);
  assert.deepEqual([withType(form, 'markdown').type, withType(form, 'markdown').language], ['markdown', 'markdown']);
  assert.equal(withType(form, 'sensor').language, 'sql');
  assert.equal(withType(withType(form, 'markdown'), 'scratchpad').language, 'typescript');
  const mismatch = editsFromForm(block, { ...form, type: 'markdown', language: 'sql' });
  assert.equal(mismatch.errors.language, 'A markdown block is written in Markdown');
});
