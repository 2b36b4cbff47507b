'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { send } from './forms';
import { ErrorNote } from '@/components/shared/ErrorNote';

/** A project's pipelines: create, rename, clone, delete (after a confirmation). */
export function PipelineList({ project, pipelines }: { project: string; pipelines: string[] }) {
  const router = useRouter();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ pipeline: string; action: 'rename' | 'clone'; name: string } | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const base = `/api/projects/${encodeURIComponent(project)}/pipelines`;
  const href = (p: string) => `/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(p)}`;
  const done = (err: string | null, go?: string) => {
    setError(err);
    if (err) return;
    setEditing(null);
    setDeleting(null);
    if (go) router.push(go);
    else router.refresh();
  };

  return (
    <>
      <form
        className="create"
        aria-label="New pipeline"
        onSubmit={(e) => {
          e.preventDefault();
          const n = name.trim();
          void send(base, 'POST', { action: 'create', name: n }).then((err) => done(err, href(n)));
        }}
      >
        <label>
          Pipeline name <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <button type="submit">Create pipeline</button>
      </form>
      <ErrorNote message={error} />
      {pipelines.length === 0 ? <p className="muted">No pipelines yet.</p> : null}
      <ul className="list" aria-label="Pipelines">
        {pipelines.map((p) => (
          <li key={p} className="row">
            <Link href={href(p)}>{p}</Link>
            <span className="spacer" />
            {editing?.pipeline === p ? (
              <form
                className="inline"
                onSubmit={(e) => {
                  e.preventDefault();
                  const n = editing.name.trim();
                  const request =
                    editing.action === 'rename'
                      ? send(`${base}/${encodeURIComponent(p)}`, 'PATCH', { name: n })
                      : send(base, 'POST', { action: 'clone', from: p, name: n });
                  void request.then((err) => done(err));
                }}
              >
                <input aria-label={editing.action === 'rename' ? `New name for ${p}` : `Name of the copy of ${p}`} value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} autoFocus />
                <button type="submit">{editing.action === 'rename' ? 'Save name' : 'Create copy'}</button>
                <button type="button" onClick={() => setEditing(null)}>
                  Cancel
                </button>
              </form>
            ) : deleting === p ? (
              <span role="alertdialog" aria-label={`Delete ${p}?`} className="confirm">
                Delete pipeline {p}? Its block files stay in the project.
                <button type="button" onClick={() => void send(`${base}/${encodeURIComponent(p)}`, 'DELETE').then((err) => done(err))}>
                  Delete {p}
                </button>
                <button type="button" onClick={() => setDeleting(null)}>
                  Cancel
                </button>
              </span>
            ) : (
              <>
                <button type="button" aria-label={`Rename ${p}`} onClick={() => setEditing({ pipeline: p, action: 'rename', name: p })}>
                  Rename
                </button>
                <button type="button" aria-label={`Clone ${p}`} onClick={() => setEditing({ pipeline: p, action: 'clone', name: `${p}_copy` })}>
                  Clone
                </button>
                <button type="button" aria-label={`Delete ${p}`} onClick={() => setDeleting(p)}>
                  Delete
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
