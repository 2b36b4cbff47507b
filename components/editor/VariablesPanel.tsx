'use client';
import { useEffect, useState } from 'react';
import { formatVariable, parseVariableText } from '@/lib/ui/variable-text';
import { IDENTIFIER_PATTERN, type JsonValue } from '@/lib/pipeline/model';
import { useEditorState } from './editor-state';
import { ErrorNote } from '@/components/shared/ErrorNote';

function typeOf(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'object' : typeof value;
}

function VariableRow({ name, value }: { name: string; value: JsonValue }) {
  const st = useEditorState.getState;
  const [text, setText] = useState(formatVariable(value));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const shown = formatVariable(value);
  // A save here or in another tab changed the value: the box shows what metadata.yaml now says.
  useEffect(() => setText(shown), [shown]);

  const run = async (edit: Parameters<ReturnType<typeof st>['tryEdit']>[0][number]) => {
    setBusy(true);
    const result = await st().tryEdit([edit]);
    setBusy(false);
    setError(result.ok ? null : result.message);
  };
  const dirty = text !== shown;

  return (
    <tr>
      <th scope="row">{name}</th>
      <td>
        <input
          aria-label={`Value of ${name}`}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && dirty) void run({ kind: 'set_variable', name, value: parseVariableText(text) });
          }}
        />
        <small className="muted"> {typeOf(dirty ? parseVariableText(text) : value)}</small>
        <ErrorNote message={error} />
      </td>
      <td className="row-actions">
        <button type="button" aria-label={`Save variable ${name}`} disabled={!dirty || busy} onClick={() => void run({ kind: 'set_variable', name, value: parseVariableText(text) })}>
          Save
        </button>
        <button type="button" aria-label={`Delete variable ${name}`} disabled={busy} onClick={() => void run({ kind: 'remove_variable', name })}>
          Delete
        </button>
      </td>
    </tr>
  );
}

/**
 * The pipeline's global variables (metadata.yaml `variables`), as Mage's sidekick shows them:
 * blocks read them as ctx.variables and {{ variables('name') }}; runtime variables override them.
 */
export function VariablesPanel() {
  const variables = useEditorState((s) => s.model?.variables);
  const st = useEditorState.getState;
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  // One add at a time: each carries the pipeline version it read, so a second in flight would conflict.
  const [busy, setBusy] = useState(false);

  if (!variables) return <p className="muted">Loading pipeline…</p>;
  const entries = Object.entries(variables);

  const add = async () => {
    const trimmed = name.trim();
    if (!IDENTIFIER_PATTERN.test(trimmed)) {
      setError('A variable name uses letters, digits and _ and does not start with a digit.');
      return;
    }
    if (trimmed in variables) {
      setError(`${trimmed} already exists: change its value in the table.`);
      return;
    }
    setBusy(true);
    const result = await st().tryEdit([{ kind: 'set_variable', name: trimmed, value: parseVariableText(value) }]);
    setBusy(false);
    if (result.ok) {
      setName('');
      setValue('');
      setError(null);
    } else {
      setError(result.message);
    }
  };

  return (
    <div className="panel">
      <p className="muted">
        Saved in metadata.yaml; blocks read them as <code>ctx.variables.name</code> or <code>{"{{ variables('name') }}"}</code>. Values that read as JSON (12, true, [&quot;a&quot;]) are
        that; anything else is text.
      </p>
      {entries.length === 0 ? (
        <p className="muted">No variables yet.</p>
      ) : (
        <table className="preview wide" aria-label="Pipeline variables">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {entries.map(([k, v]) => (
              <VariableRow key={k} name={k} value={v} />
            ))}
          </tbody>
        </table>
      )}
      <form
        className="create"
        aria-label="New variable"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <label>
          Variable name
          <input value={name} onChange={(e) => setName(e.target.value)} required disabled={busy} />
        </label>
        <label>
          Variable value
          <input value={value} onChange={(e) => setValue(e.target.value)} disabled={busy} />
        </label>
        <button type="submit" disabled={busy}>
          Add variable
        </button>
      </form>
      <ErrorNote message={error} />
    </div>
  );
}
