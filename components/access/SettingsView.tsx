'use client';
import { useCallback, useEffect, useState } from 'react';
import { z } from 'zod';
import { ErrorNote } from '@/components/shared/ErrorNote';
import { ApiError, fetchJson } from '@/components/shared/fetch-json';
import { ROLES, type Role } from '@/lib/access/roles';
import { auditAnswerSchema, createdTokenSchema, meSchema, secretsAnswerSchema, tokensAnswerSchema, usersAnswerSchema } from '@/lib/protocol/access-api';

type Me = z.infer<typeof meSchema>['user'];
const anything = z.unknown();
const message = (e: unknown) => (e instanceof ApiError ? e.message : String(e));
const roleOf = (value: string): Role => z.enum(ROLES).catch('viewer').parse(value);

/** Account, personal API tokens, and for owners users, secrets and the audit log. */
export function SettingsView() {
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetchJson('/api/auth/me', meSchema).then((m) => setMe(m.user), (e: unknown) => setError(message(e)));
  }, []);
  if (!me) return <ErrorNote message={error} />;
  return (
    <>
      <section aria-label="Account">
        <h2>Account</h2>
        <p>
          Signed in as <strong>{me.kind === 'start_token' ? 'the start token' : me.name}</strong> ({me.role}).{' '}
          <button
            type="button"
            onClick={() => void fetchJson('/api/auth/logout', anything, { method: 'POST' }).then(() => window.location.assign('/login'), (e: unknown) => setError(message(e)))}
          >
            Sign out
          </button>
        </p>
        <ErrorNote message={error} />
      </section>
      {me.role !== 'viewer' && me.kind === 'user' ? <Tokens /> : null}
      {me.role === 'owner' ? (
        <>
          <Users firstOwnerHint={me.kind === 'start_token'} />
          <Secrets />
          <Audit />
        </>
      ) : null}
    </>
  );
}

function Tokens() {
  const [tokens, setTokens] = useState<z.infer<typeof tokensAnswerSchema>['tokens']>([]);
  const [name, setName] = useState('');
  const [made, setMade] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => fetchJson('/api/tokens', tokensAnswerSchema).then((t) => setTokens(t.tokens), (e: unknown) => setError(message(e))), []);
  useEffect(() => void load(), [load]);
  return (
    <section aria-label="API tokens">
      <h2>Personal API tokens</h2>
      <form
        className="create"
        aria-label="New API token"
        onSubmit={(e) => {
          e.preventDefault();
          fetchJson('/api/tokens', createdTokenSchema, { method: 'POST', body: { name } }).then(
            (t) => {
              setMade(t.token);
              setName('');
              setError(null);
              void load();
            },
            (err: unknown) => setError(message(err)),
          );
        }}
      >
        <label>
          Token name <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <button type="submit">Create token</button>
      </form>
      {made ? (
        <p role="status">
          New token (shown once): <code data-testid="new-token">{made}</code>
        </p>
      ) : null}
      <ErrorNote message={error} />
      <ul className="list" aria-label="Tokens">
        {tokens.map((t) => (
          <li key={t.id} className="row">
            {t.name} <span className="muted">{t.user}, made {t.created_at}{t.last_used_at ? `, last used ${t.last_used_at}` : ''}</span>
            <span className="spacer" />
            <button type="button" onClick={() => fetchJson(`/api/tokens/${encodeURIComponent(t.id)}`, anything, { method: 'DELETE' }).then(load, (e: unknown) => setError(message(e)))}>
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Users({ firstOwnerHint }: { firstOwnerHint: boolean }) {
  const [users, setUsers] = useState<z.infer<typeof usersAnswerSchema>['users']>([]);
  const [form, setForm] = useState<{ name: string; role: Role; password: string }>({ name: '', role: firstOwnerHint ? 'owner' : 'editor', password: '' });
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => fetchJson('/api/users', usersAnswerSchema).then((u) => setUsers(u.users), (e: unknown) => setError(message(e))), []);
  useEffect(() => void load(), [load]);
  const act = (p: Promise<unknown>) => p.then(() => (setError(null), load()), (e: unknown) => setError(message(e)));
  return (
    <section aria-label="Users">
      <h2>Users</h2>
      {firstOwnerHint ? (
        <p className="muted">
          You are signed in with the start link. The first user must be an owner; once users exist the link stops working and you sign in as that user.
        </p>
      ) : null}
      <form
        className="create"
        aria-label="New user"
        onSubmit={(e) => {
          e.preventDefault();
          void act(fetchJson('/api/users', anything, { method: 'POST', body: form }).then(() => setForm({ name: '', role: 'editor', password: '' })));
        }}
      >
        <label>
          Name <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
        </label>
        <label>
          Role
          <select value={form.role} onChange={(e) => setForm({ ...form, role: roleOf(e.target.value) })}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Password <input type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required />
        </label>
        <button type="submit">Add user</button>
      </form>
      <ErrorNote message={error} />
      <ul className="list" aria-label="User list">
        {users.map((u) => (
          <li key={u.name} className="row">
            {u.name}
            <select aria-label={`Role of ${u.name}`} value={u.role} onChange={(e) => void act(fetchJson(`/api/users/${encodeURIComponent(u.name)}`, anything, { method: 'PATCH', body: { role: roleOf(e.target.value) } }))}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
            <span className="spacer" />
            <button type="button" onClick={() => void act(fetchJson(`/api/users/${encodeURIComponent(u.name)}`, anything, { method: 'DELETE' }))}>
              Remove
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Secrets() {
  const [secrets, setSecrets] = useState<z.infer<typeof secretsAnswerSchema>['secrets']>([]);
  const [form, setForm] = useState({ name: '', value: '' });
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => fetchJson('/api/secrets', secretsAnswerSchema).then((s) => setSecrets(s.secrets), (e: unknown) => setError(message(e))), []);
  useEffect(() => void load(), [load]);
  const act = (p: Promise<unknown>) => p.then(() => (setError(null), load()), (e: unknown) => setError(message(e)));
  return (
    <section aria-label="Secrets">
      <h2>Secrets</h2>
      <p className="muted">
        Read in io_config.yaml and SQL as <code>{"{{ mage_secret_var('NAME') }}"}</code>, in TypeScript as <code>ctx.secrets.get(&apos;NAME&apos;)</code>. Values are never shown again.
      </p>
      <form
        className="create"
        aria-label="Set secret"
        onSubmit={(e) => {
          e.preventDefault();
          void act(fetchJson(`/api/secrets/${encodeURIComponent(form.name)}`, anything, { method: 'PUT', body: { value: form.value } }).then(() => setForm({ name: '', value: '' })));
        }}
      >
        <label>
          Secret name <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
        </label>
        <label>
          Value <input type="password" autoComplete="off" value={form.value} onChange={(e) => setForm({ ...form, value: e.target.value })} required />
        </label>
        <button type="submit">Save secret</button>
      </form>
      <ErrorNote message={error} />
      <ul className="list" aria-label="Secret names">
        {secrets.map((s) => (
          <li key={s.name} className="row">
            <code>{s.name}</code> <span className="muted">set by {s.updated_by}, {s.updated_at}</span>
            <span className="spacer" />
            <button type="button" onClick={() => void act(fetchJson(`/api/secrets/${encodeURIComponent(s.name)}`, anything, { method: 'DELETE' }))}>
              Remove
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Audit() {
  const [entries, setEntries] = useState<z.infer<typeof auditAnswerSchema>['entries']>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetchJson('/api/audit', auditAnswerSchema).then((a) => setEntries(a.entries), (e: unknown) => setError(message(e)));
  }, []);
  return (
    <section aria-label="Audit log">
      <h2>Audit log</h2>
      <ErrorNote message={error} />
      <table className="preview wide">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>Which</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>{e.at}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.target}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
