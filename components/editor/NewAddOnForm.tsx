'use client';
import { useState } from 'react';
import { addOnTemplatesFor } from '@/lib/pipeline/add-on-templates';
import { ADD_ON_KINDS, ADD_ON_LISTS, type AddOnKind } from '@/lib/pipeline/model';
import { type ProjectFiles } from '@/lib/protocol/editor-api';
import { ADD_ON_LABELS } from '@/lib/ui/block-labels';
import { useEditorState } from './editor-state';

/** The first `<kind>_<n>` no add-on of that kind has. */
function freeName(kind: AddOnKind, used: ReadonlySet<string>): string {
  let n = 1;
  while (used.has(`${kind}_${n}`)) n += 1;
  return `${kind}_${n}`;
}

/** Mage's "add conditional / callback": kind, a template or an existing file, a name, and the blocks it is attached to. */
export function NewAddOnForm({ files }: { files: ProjectFiles['addOns'] }) {
  const model = useEditorState((s) => s.model);
  const selected = useEditorState((s) => s.selected);
  const st = useEditorState.getState;
  const [kind, setKind] = useState<AddOnKind>('conditional');
  const [source, setSource] = useState('');
  const [name, setName] = useState('');
  const [attached, setAttached] = useState<string[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!model) return null;
  const listed = new Set(model[ADD_ON_LISTS[kind]].map((a) => a.uuid));
  const templates = addOnTemplatesFor(kind);
  const existing = files.filter((f) => f.kind === kind && !listed.has(f.uuid));
  const chosen = source || templates[0]?.id || (existing[0] ? `existing:${existing[0].uuid}` : '');
  const isExisting = chosen.startsWith('existing:');
  const shownName = name || freeName(kind, listed);
  // Notes are never run, so nothing runs before or after them.
  const targets = model.blocks.filter((b) => b.type !== 'markdown').map((b) => b.uuid);
  const attachTo = attached ?? (selected && targets.includes(selected) ? [selected] : []);

  const submit = async () => {
    if (attachTo.length === 0) {
      setMessage('Not added: attach it to at least one block');
      return;
    }
    setBusy(true);
    const uuid = isExisting ? chosen.slice('existing:'.length) : shownName.trim();
    const result = await st().tryEdit([{ kind: 'add_add_on', addOn: kind, uuid, upstream: attachTo, source: isExisting ? { existing: true } : { template: chosen } }]);
    setBusy(false);
    setMessage(result.ok ? null : `Not added: ${result.message}`);
    if (result.ok) {
      setName('');
      setSource('');
      setAttached(null);
    }
  };

  return (
    <form
      aria-label="New add-on block"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3>Add an add-on block</h3>
      <label>
        Add-on type
        <select
          value={kind}
          onChange={(e) => {
            setKind(ADD_ON_KINDS.find((k) => k === e.target.value) ?? kind);
            setSource('');
            setName('');
          }}
        >
          {ADD_ON_KINDS.map((k) => (
            <option key={k} value={k}>
              {ADD_ON_LABELS[k]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Add-on template
        <select value={chosen} onChange={(e) => setSource(e.target.value)}>
          {templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.label}
            </option>
          ))}
          {existing.map((f) => (
            <option key={f.path} value={`existing:${f.uuid}`}>
              Existing file: {f.path}
            </option>
          ))}
        </select>
      </label>
      {isExisting ? null : (
        <label>
          Add-on name
          <input value={shownName} onChange={(e) => setName(e.target.value)} pattern="[A-Za-z_][A-Za-z0-9_]*" required />
        </label>
      )}
      <fieldset>
        <legend>Attach to</legend>
        {targets.length === 0 ? <span className="muted">No blocks yet.</span> : null}
        {targets.map((u) => (
          <label key={u} className="check">
            <input type="checkbox" checked={attachTo.includes(u)} onChange={(e) => setAttached(e.target.checked ? [...attachTo, u] : attachTo.filter((x) => x !== u))} />
            {u}
          </label>
        ))}
      </fieldset>
      {message ? (
        <p role="alert" className="error">
          {message}
        </p>
      ) : null}
      <button type="submit" disabled={busy || !chosen}>
        Create add-on block
      </button>
    </form>
  );
}
