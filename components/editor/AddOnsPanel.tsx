'use client';
import { useEffect, useState } from 'react';
import { formatIssue } from '@/lib/pipeline/issues';
import { ADD_ON_KINDS, ADD_ON_LISTS } from '@/lib/pipeline/model';
import { type EditorAddOn, type EditorEditInput, type ProjectFiles } from '@/lib/protocol/editor-api';
import { ADD_ON_LABELS } from '@/lib/ui/block-labels';
import { addOnFileKey } from '@/lib/ui/file-keys';
import { api } from './api';
import { useEditorState } from './editor-state';
import { LazyBlockEditor } from './LazyBlockEditor';
import { NewAddOnForm } from './NewAddOnForm';
import { ConfirmRemove } from './ConfirmRemove';

const HEADINGS = { conditional: 'Conditionals', callback: 'Callbacks' } as const;
const ROLES = {
  conditional: 'Run before each block they are attached to, with its arguments; false skips the block (condition failed) and its downstream blocks.',
  callback: 'Run after each block they are attached to ends: onSuccess, onFailure (ctx.error) and onCancelled. A failing callback never changes the block’s status.',
} as const;

/** One conditional or callback: its code in Monaco, the blocks it is attached to, its problems, and delete. */
function AddOnItem({ addOn }: { addOn: EditorAddOn }) {
  const key = addOnFileKey(addOn.kind, addOn.uuid);
  const label = `${ADD_ON_LABELS[addOn.kind]} ${addOn.uuid}`;
  const file = useEditorState((s) => s.files[key]);
  const readOnly = useEditorState((s) => s.readOnly);
  const blocks = useEditorState((s) => s.model?.blocks);
  // The add-on's own problems (validate.ts names the kind in each); they are also in the notebook's list.
  const issues = useEditorState((s) => (s.model?.issues ?? []).filter((i) => i.block === addOn.uuid && i.message.includes(addOn.kind)).map(formatIssue).join('\n'));
  const failures = useEditorState((s) =>
    addOn.kind === 'callback'
      ? Object.entries(s.run.callbackErrors)
          .flatMap(([run, errors]) => errors.filter((e) => e.startsWith(`${addOn.uuid}.`)).map((e) => `after ${run}: ${e}`))
          .join('\n')
      : '',
  );
  const st = useEditorState.getState;
  const [attached, setAttached] = useState(addOn.upstream);
  const [message, setMessage] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [busy, setBusy] = useState(false);
  const upstreamKey = addOn.upstream.join(',');
  // Another save (this tab or another) changed the attachments: show what metadata.yaml says.
  useEffect(() => setAttached(upstreamKey ? upstreamKey.split(',') : []), [upstreamKey]);

  // Autosave, as block code: two seconds after the last keystroke.
  const content = file?.content;
  useEffect(() => {
    if (!file || file.content === file.saved || file.conflict) return;
    const t = setTimeout(() => void st().save(key), 2000);
    return () => clearTimeout(t);
  }, [content, file, key, st]);

  const apply = async (edit: EditorEditInput) => {
    setBusy(true);
    const result = await st().tryEdit([edit]);
    setBusy(false);
    setMessage(result.ok ? null : `Not saved: ${result.message}`);
    return result.ok;
  };
  const dirty = !!file && file.content !== file.saved;
  const targets = (blocks ?? []).filter((b) => b.type !== 'markdown').map((b) => b.uuid);
  const changed = attached.join(',') !== upstreamKey;

  return (
    <section className="add-on" aria-label={label} data-testid={`add-on-${addOn.kind}-${addOn.uuid}`}>
      <header>
        <strong>{addOn.uuid}</strong>
        <span className="muted">{addOn.file}</span>
        {dirty ? (
          <span className="unsaved" title="Unsaved changes" aria-label={`Unsaved changes in ${addOn.uuid}`}>
            ●
          </span>
        ) : null}
        <span className="spacer" />
        {readOnly ? null : (
          <>
            <button type="button" aria-label={`Save ${label}`} disabled={!dirty} onClick={() => void st().save(key)}>
              Save
            </button>
            <button type="button" aria-label={`Delete ${label}`} onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          </>
        )}
      </header>
      <div className="muted" data-testid={`attached-${addOn.kind}-${addOn.uuid}`}>
        Attached to: {addOn.upstream.length > 0 ? addOn.upstream.join(', ') : 'no block'}
      </div>
      {confirmDelete ? (
        <ConfirmRemove name={addOn.uuid} file={addOn.file} busy={busy} onRemove={() => apply({ kind: 'remove_add_on', addOn: addOn.kind, uuid: addOn.uuid }).then(() => undefined)} onCancel={() => setConfirmDelete(false)} />
      ) : null}
      {issues ? <pre className="error">{issues}</pre> : null}
      {failures ? (
        <pre className="error" data-testid={`callback-failures-${addOn.uuid}`}>
          {failures}
        </pre>
      ) : null}
      {file?.conflict ? (
        <div role="alert" className="conflict">
          Conflict: {file.conflict}
          <button type="button" onClick={() => void st().resolveConflict(key, 'theirs')}>
            Load theirs (discard mine)
          </button>
          <button type="button" onClick={() => void st().resolveConflict(key, 'mine')}>
            Overwrite with mine
          </button>
        </div>
      ) : null}
      {file?.loaded ? (
        <LazyBlockEditor
          uuid={key}
          language="typescript"
          readOnly={readOnly}
          value={file.content}
          onChange={(v) => st().setContent(key, v)}
          // An add-on runs with the blocks it is attached to, never alone: the run keys save it.
          onRun={() => void st().save(key)}
          onRunNext={() => void st().save(key)}
          onSave={() => void st().save(key)}
          onEscape={() => undefined}
        />
      ) : (
        <div className="muted code">Loading {addOn.file}…</div>
      )}
      {readOnly ? null : (
        <fieldset aria-label={`Blocks ${addOn.uuid} is attached to`}>
          <legend>Attached to</legend>
          {targets.map((u) => (
            <label key={u} className="check">
              <input type="checkbox" checked={attached.includes(u)} onChange={(e) => setAttached(e.target.checked ? [...attached, u] : attached.filter((x) => x !== u))} />
              {u}
            </label>
          ))}
          <button
            type="button"
            disabled={busy || !changed}
            onClick={() => {
              if (attached.length === 0) setMessage('Not saved: attach it to at least one block, or delete it');
              else void apply({ kind: 'set_add_on_upstream', addOn: addOn.kind, uuid: addOn.uuid, upstream: attached });
            }}
          >
            Save attachments
          </button>
        </fieldset>
      )}
      {message ? (
        <p role="alert" className="error">
          {message}
        </p>
      ) : null}
    </section>
  );
}

/** Mage's add-on blocks in the sidekick: the pipeline's conditionals and callbacks, and a form for a new one. */
export function AddOnsPanel() {
  const model = useEditorState((s) => s.model);
  const project = useEditorState((s) => s.project);
  const readOnly = useEditorState((s) => s.readOnly);
  const [files, setFiles] = useState<ProjectFiles['addOns']>([]);
  useEffect(() => {
    if (!project) return;
    void api.files(project).then((r) => setFiles(r.addOns), () => setFiles([]));
  }, [project, model?.version]);
  if (!model) return <p className="muted">Loading pipeline…</p>;
  return (
    <div className="panel add-ons">
      {ADD_ON_KINDS.map((kind) => (
        <div key={kind}>
          <h3>{HEADINGS[kind]}</h3>
          <p className="muted">{ROLES[kind]}</p>
          {model[ADD_ON_LISTS[kind]].length === 0 ? <p className="muted">None yet.</p> : null}
          {model[ADD_ON_LISTS[kind]].map((a) => (
            <AddOnItem key={a.uuid} addOn={a} />
          ))}
        </div>
      ))}
      {readOnly ? null : <NewAddOnForm files={files} />}
    </div>
  );
}
