'use client';
import { useEffect, useState, type ReactNode } from 'react';
import { COMPRESSIONS, editsFromForm, formFromBlock, withType, WRITE_POLICIES, type SettingsForm } from '@/lib/ui/block-settings-form';
import { BLOCK_TYPES, TYPE_LANGUAGES } from '@/lib/pipeline/model';
import { settingsOf, upstreamChoices } from '@/lib/ui/block-kinds';
import { type EditorBlock } from '@/lib/protocol/editor-api';
import { useEditorState } from './editor-state';
import { BLOCK_LANGUAGE_LABELS, BLOCK_TYPE_LABELS } from '@/lib/ui/block-labels';


/** A labelled control; its hint and error sit outside the label, so the control's name stays just the label. */
function Field({ label, error, children, hint }: { label: string; error?: string; children: ReactNode; hint?: string }) {
  return (
    <div className="field">
      <label>
        {label}
        {children}
      </label>
      {hint ? <small className="muted">{hint}</small> : null}
      {error ? <small className="error">{error}</small> : null}
    </div>
  );
}

/** The form of one block; remounted (fresh state) when the block or its saved settings change. */
function SettingsEditor({ block, others, saved, onSaved }: { block: EditorBlock; others: string[]; saved: boolean; onSaved(ok: boolean): void }) {
  const st = useEditorState.getState;
  const [form, setForm] = useState<SettingsForm>(() => formFromBlock(block));
  const [errors, setErrors] = useState<Partial<Record<keyof SettingsForm, string>>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof SettingsForm>(key: K, value: SettingsForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    onSaved(false);
  };
  const invalid = (key: keyof SettingsForm) => (errors[key] ? { 'aria-invalid': true } : {});

  const save = async () => {
    const { edits, errors: found } = editsFromForm(block, form);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setMessage(`Not saved: ${Object.values(found).join('; ')}`);
      return;
    }
    setBusy(true);
    // A rename moves the block file: unsaved code is saved under the old name first.
    if (edits.some((e) => e.kind === 'rename_block' || e.kind === 'change_block_kind')) await st().saveAll();
    const result = await st().tryEdit(edits);
    setBusy(false);
    setMessage(result.ok ? null : `Not saved: ${result.message}`);
    onSaved(result.ok);
    if (result.ok && form.name.trim() !== block.uuid) st().select(form.name.trim());
  };

  const languageChanged = form.language !== block.language;
  const kind = settingsOf(form.type);
  return (
    <form
      className="settings"
      aria-label={`Settings of ${block.uuid}`}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <Field label="Block name" error={errors.name}>
        <input value={form.name} onChange={(e) => set('name', e.target.value)} {...invalid('name')} />
      </Field>
      <div className="row">
        <Field label="Block type">
          <select
            value={form.type}
            onChange={(e) => {
              setForm((f) => withType(f, BLOCK_TYPES.find((t) => t === e.target.value) ?? f.type));
              onSaved(false);
            }}
          >
            {BLOCK_TYPES.map((t) => (
              <option key={t} value={t}>
                {BLOCK_TYPE_LABELS[t]}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Block language" error={errors.language} hint={languageChanged ? `The code is kept as it is: rewrite it in ${BLOCK_LANGUAGE_LABELS[form.language]}.` : undefined}>
          <select value={form.language} onChange={(e) => set('language', TYPE_LANGUAGES[form.type].find((l) => l === e.target.value) ?? form.language)}>
            {TYPE_LANGUAGES[form.type].map((l) => (
              <option key={l} value={l}>
                {BLOCK_LANGUAGE_LABELS[l]}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {kind.upstream ? (
        <fieldset>
          <legend>Upstream blocks</legend>
          {others.length === 0 ? <span className="muted">No other blocks.</span> : null}
          {others.map((u) => (
            <label key={u} className="check">
              <input
                type="checkbox"
                checked={form.upstream.includes(u)}
                onChange={(e) => set('upstream', e.target.checked ? [...form.upstream, u] : form.upstream.filter((x) => x !== u))}
              />
              {u}
            </label>
          ))}
        </fieldset>
      ) : null}
      {kind.fanOut ? (
        <fieldset>
          <legend>Fan-out (dynamic blocks)</legend>
          <label className="check">
            <input type="checkbox" checked={form.dynamic} onChange={(e) => set('dynamic', e.target.checked)} />
            Dynamic (fan out each row)
          </label>
          <small className="muted">Each row of this block&apos;s output runs its downstream blocks once, as {form.name || block.uuid}&apos;s children.</small>
          <label className="check">
            <input type="checkbox" checked={form.reduceOutput} onChange={(e) => set('reduceOutput', e.target.checked)} />
            Reduce output
          </label>
          <small className="muted">When this block runs once per item: its downstream blocks get all its children&apos;s outputs as one.</small>
        </fieldset>
      ) : null}
      {kind.sensor ? (
        <fieldset>
          <legend>Sensor (configuration)</legend>
          <div className="row">
            <Field label="Poke interval (s)" error={errors.pokeInterval} hint="Empty: 60">
              <input inputMode="decimal" value={form.pokeInterval} onChange={(e) => set('pokeInterval', e.target.value)} {...invalid('pokeInterval')} />
            </Field>
            <Field label="Sensor timeout (s)" error={errors.sensorTimeout} hint="Fails after this long; empty: pokes until true">
              <input inputMode="decimal" value={form.sensorTimeout} onChange={(e) => set('sensorTimeout', e.target.value)} {...invalid('sensorTimeout')} />
            </Field>
          </div>
        </fieldset>
      ) : null}
      {kind.runs ? (
        <>
          <fieldset>
            <legend>Retries (retry_config)</legend>
            <p className="muted">Empty fields take the pipeline&apos;s or project&apos;s retry_config (Mage&apos;s defaults: 0 retries, 5 s delay, 60 s max, exponential).</p>
            <div className="row">
              <Field label="Retries" error={errors.retries}>
                <input inputMode="numeric" value={form.retries} onChange={(e) => set('retries', e.target.value)} {...invalid('retries')} />
              </Field>
              <Field label="Delay (s)" error={errors.delay}>
                <input inputMode="decimal" value={form.delay} onChange={(e) => set('delay', e.target.value)} {...invalid('delay')} />
              </Field>
              <Field label="Max delay (s)" error={errors.maxDelay}>
                <input inputMode="decimal" value={form.maxDelay} onChange={(e) => set('maxDelay', e.target.value)} {...invalid('maxDelay')} />
              </Field>
              <Field label="Exponential backoff">
                <select value={form.backoff} onChange={(e) => set('backoff', e.target.value === 'true' ? 'true' : e.target.value === 'false' ? 'false' : '')}>
                  <option value="">(inherit)</option>
                  <option value="true">yes</option>
                  <option value="false">no</option>
                </select>
              </Field>
            </div>
          </fieldset>
          <Field label="Timeout (s)" error={errors.timeout} hint="Empty: no limit.">
            <input inputMode="decimal" value={form.timeout} onChange={(e) => set('timeout', e.target.value)} {...invalid('timeout')} />
          </Field>
        </>
      ) : null}
      {kind.destination || form.destination ? (
        <fieldset>
          <legend>Destination (configuration.destination)</legend>
          <Field label="Destination type">
            <select value={form.destination} onChange={(e) => set('destination', e.target.value === 'postgres' ? 'postgres' : e.target.value === 'parquet' ? 'parquet' : '')}>
              <option value="">none</option>
              <option value="postgres">Postgres table</option>
              <option value="parquet">Parquet lake (folder or s3:// bucket)</option>
            </select>
          </Field>
          {form.destination === 'postgres' ? (
            <div className="row">
              <Field label="Profile" hint="From io_config.yaml; empty: default">
                <input value={form.profile} onChange={(e) => set('profile', e.target.value)} />
              </Field>
              <Field label="Schema" hint="Empty: the profile's POSTGRES_SCHEMA">
                <input value={form.schema} onChange={(e) => set('schema', e.target.value)} />
              </Field>
              <Field label="Table" error={errors.table}>
                <input value={form.table} onChange={(e) => set('table', e.target.value)} {...invalid('table')} />
              </Field>
              <Field label="Unique constraints" hint="Columns, comma-separated: upsert on them">
                <input value={form.uniqueConstraints} onChange={(e) => set('uniqueConstraints', e.target.value)} />
              </Field>
            </div>
          ) : null}
          {form.destination === 'parquet' ? (
            <div className="row">
              <Field label="Path" error={errors.path} hint="Folder in the project, or s3://bucket/prefix">
                <input value={form.path} onChange={(e) => set('path', e.target.value)} {...invalid('path')} />
              </Field>
              {/^s3:\/\//i.test(form.path.trim()) ? (
                <Field label="Profile" hint="io_config.yaml profile with the AWS_* keys; empty: default">
                  <input value={form.profile} onChange={(e) => set('profile', e.target.value)} />
                </Field>
              ) : null}
              <Field label="Partition by" hint="Columns, comma-separated">
                <input value={form.partitionBy} onChange={(e) => set('partitionBy', e.target.value)} />
              </Field>
              <Field label="Compression">
                <select value={form.compression} onChange={(e) => set('compression', COMPRESSIONS.find((c) => c === e.target.value) ?? '')}>
                  {COMPRESSIONS.map((c) => (
                    <option key={c} value={c}>
                      {c || '(default: zstd)'}
                    </option>
                  ))}
                </select>
              </Field>
            </div>
          ) : null}
          {form.destination ? (
            <Field label="Write policy">
              <select value={form.writePolicy} onChange={(e) => set('writePolicy', WRITE_POLICIES.find((w) => w === e.target.value) ?? 'replace')}>
                {WRITE_POLICIES.map((w) => (
                  <option key={w} value={w}>
                    {w}
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
        </fieldset>
      ) : null}
      {message ? (
        <p role="alert" className="error" data-testid="settings-error">
          {message}
        </p>
      ) : null}
      <div className="row">
        <button type="submit" disabled={busy}>
          Save settings
        </button>
        <button
          type="button"
          onClick={() => {
            setForm(formFromBlock(block));
            setErrors({});
            setMessage(null);
          }}
        >
          Reset
        </button>
        {saved ? (
          <span role="status" className="muted">
            Saved to metadata.yaml
          </span>
        ) : null}
      </div>
    </form>
  );
}

/** Mage's block settings in the sidekick: the selected block's entry in metadata.yaml, edited. */
export function BlockSettings() {
  const selected = useEditorState((s) => s.selected);
  const model = useEditorState((s) => s.model);
  const block = model?.blocks.find((b) => b.uuid === selected);
  // A form that is not being typed into follows what metadata.yaml says (a save, another tab).
  const [key, setKey] = useState(0);
  // Kept here: a save remounts the form (it then shows the saved settings), and the note must stay.
  const [saved, setSaved] = useState(false);
  const c = block?.configuration;
  const settingsKey = block && c ? JSON.stringify([block.uuid, block.type, block.language, block.upstream, block.retry_config, block.timeout, c.destination ?? null, c.dynamic ?? null, c.reduce_output ?? null, c.poke_interval ?? null, c.timeout ?? null]) : '';
  useEffect(() => setKey((k) => k + 1), [settingsKey]);
  if (!block) return <p className="muted">Select a block to see its settings.</p>;
  return (
    <div className="panel">
      <SettingsEditor
      key={`${block.uuid}/${key}`}
      block={block}
      others={upstreamChoices(model?.blocks ?? [], block.uuid).map((b) => b.uuid)}
      saved={saved}
        onSaved={setSaved}
      />
    </div>
  );
}
