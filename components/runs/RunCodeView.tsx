'use client';

import { useCallback, useEffect, useMemo, useState } from 'react';
import { z } from 'zod';
import { meSchema } from '@/lib/protocol/access-api';
import { diffCounts, lineDiff } from '@/lib/ui/line-diff';
import { call, runCodeSchema, type PinnedFileJson, type RunCodeJson } from './api';
import styles from './runs.module.css';

/**
 * The code a block run ran (pinned when the run started), a line diff against the file now, and
 * "Restore this version"; below it the pipeline's metadata.yaml as the run read it. Plain <pre>s:
 * the run page does not load Monaco, and this view is read-only.
 */
export function RunCodeView({ runId, pipeline, block }: { runId: string; pipeline: string; block: string }) {
  const [code, setCode] = useState<RunCodeJson | null>(null);
  const [error, setError] = useState<string | null>(null);
  const base = `/api/runs/${encodeURIComponent(runId)}/code`;

  const load = useCallback(async () => {
    try {
      setCode(await call(base, runCodeSchema));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [base]);
  // The pinned code never changes: it is loaded once per run, and again after a restore.
  useEffect(() => void load(), [load]);
  // Restoring writes a file: an editor's right. A viewer sees the code and the diff, not the button.
  const [canRestore, setCanRestore] = useState(false);
  useEffect(() => {
    void call('/api/auth/me', meSchema).then(
      (me) => setCanRestore(me.user.role !== 'viewer'),
      () => setCanRestore(false),
    );
  }, []);

  if (!code) return <p className="muted">{error ?? 'Loading code…'}</p>;
  const file = code.blocks[block];
  const pinned = file === undefined ? undefined : code.files.find((f) => f.path === file);
  const metadata = code.files.find((f) => f.path === `pipelines/${pipeline}/metadata.yaml`);
  return (
    <section aria-label={`Code of ${block}`}>
      <h2 style={{ marginTop: 12 }}>Code of {block}</h2>
      {pinned ? (
        <PinnedFile key={pinned.path} runId={runId} file={pinned} onRestored={load} canRestore={canRestore} />
      ) : (
        <p className="muted">{code.files.length === 0 ? 'This run is from before runs kept their code.' : `The run did not record code for ${block}${file ? ` (${file})` : ''}.`}</p>
      )}
      {metadata && (
        <details style={{ marginTop: 8 }}>
          <summary className="muted">metadata.yaml as the run read it</summary>
          <PinnedFile runId={runId} file={metadata} onRestored={load} canRestore={canRestore} />
        </details>
      )}
    </section>
  );
}

type Tab = 'code' | 'diff';

/** One pinned file: as run, or diffed against now, with its restore button. */
function PinnedFile({ runId, file, onRestored, canRestore }: { runId: string; file: PinnedFileJson; onRestored: () => Promise<void>; canRestore: boolean }) {
  const [tab, setTab] = useState<Tab>('code');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const same = file.current === file.content;
  // − as the run ran it, + the file now.
  const diff = useMemo(() => lineDiff(file.content, file.current ?? ''), [file.content, file.current]);
  const counts = diffCounts(diff);
  const state = file.current === null ? 'the file is gone now' : same ? 'the same as the file now' : `changed since: −${counts.removed} +${counts.added} lines`;

  const restore = () => {
    setBusy(true);
    setMessage(null);
    void call(`/api/runs/${encodeURIComponent(runId)}/code/restore`, z.unknown(), { method: 'POST', body: { path: file.path, version: file.current_version } })
      .then(
        async () => {
          setMessage({ ok: true, text: `Restored ${file.path} to the version this run ran.` });
          await onRestored();
        },
        (e: unknown) => setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) }),
      )
      .finally(() => setBusy(false));
  };

  return (
    <div data-testid={`pinned-${file.path}`}>
      <div className={styles.row} style={{ alignItems: 'center' }}>
        <code>{file.path}</code>
        <span className="muted" data-testid="code-state">{state}</span>
        <span className="spacer" />
        <span role="tablist" aria-label={`Views of ${file.path}`} className={styles.tabs}>
          <button type="button" role="tab" aria-selected={tab === 'code'} onClick={() => setTab('code')}>As run</button>
          <button type="button" role="tab" aria-selected={tab === 'diff'} onClick={() => setTab('diff')}>Diff with current</button>
        </span>
        {canRestore && (
          <button type="button" onClick={restore} disabled={busy || same} title={same ? 'the file already holds this version' : 'write this version back to the file'}>
            Restore this version
          </button>
        )}
      </div>
      {message && <p className={message.ok ? 'muted' : styles.error} role={message.ok ? 'status' : 'alert'}>{message.text}</p>}
      {tab === 'code' ? (
        <pre className={styles.logs} data-testid="pinned-code">{file.content}</pre>
      ) : (
        <pre className={styles.logs} data-testid="code-diff" aria-label={`Diff of ${file.path}: − as run, + now`}>
          {same ? 'no difference' : diff.map((l, i) => (
            <div key={i} className={l.kind === 'added' ? styles.added : l.kind === 'removed' ? styles.removed : undefined} data-kind={l.kind}>
              {l.kind === 'added' ? '+ ' : l.kind === 'removed' ? '− ' : '  '}
              {l.text}
            </div>
          ))}
        </pre>
      )}
    </div>
  );
}
