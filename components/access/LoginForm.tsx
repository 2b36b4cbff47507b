'use client';
import { useState } from 'react';
import { ErrorNote } from '@/components/shared/ErrorNote';
import { localReturnPath } from '@/lib/access/return-path';
import { apiErrorSchema } from '@/lib/protocol/editor-api';

export function LoginForm({ next, initialError }: { next: string; initialError: string | null }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(initialError);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="create signin-form"
      aria-label="Sign in"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        void fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
          .then(async (r) => {
            if (r.ok) {
              window.location.assign(localReturnPath(next));
              return;
            }
            const err = apiErrorSchema.safeParse(await r.json().catch(() => null));
            setError(err.success ? err.data.error.message : `HTTP ${r.status}`);
          })
          .catch(() => setError('the server cannot be reached'))
          .finally(() => setBusy(false));
      }}
    >
      <label>
        User name <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
      </label>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      <ErrorNote message={error} />
    </form>
  );
}
