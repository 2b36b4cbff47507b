'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { z } from 'zod';
import { apiErrorSchema } from '@/lib/protocol/editor-api';
import { ErrorNote } from '@/components/shared/ErrorNote';

/** Sends a JSON request to the API; resolves to an error message or null. */
export async function send(url: string, method: string, body?: unknown): Promise<string | null> {
  try {
    const r = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.ok) return null;
    const err = apiErrorSchema.safeParse(await r.json().catch(() => null));
    return err.success ? err.data.error.message : `HTTP ${r.status}`;
  } catch {
    return 'the server cannot be reached';
  }
}

export function NewProjectForm() {
  const router = useRouter();
  const [name, setName] = useState('');
  const [template, setTemplate] = useState<'empty' | 'starter'>('empty');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="create"
      aria-label="New project"
      onSubmit={(e) => {
        e.preventDefault();
        void send('/api/projects', 'POST', { name: name.trim(), template }).then((err) => {
          setError(err);
          if (!err) router.push(`/projects/${encodeURIComponent(name.trim())}`);
        });
      }}
    >
      <label>
        Project name <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Template
        <select value={template} onChange={(e) => setTemplate(z.enum(['empty', 'starter']).catch('empty').parse(e.target.value))}>
          <option value="empty">Empty project</option>
          <option value="starter">Starter (loader → transformer → exporter)</option>
        </select>
      </label>
      <button type="submit">Create project</button>
      <ErrorNote message={error} />
    </form>
  );
}
