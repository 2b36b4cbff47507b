'use client';

import { useEffect, useRef, useState } from 'react';
import { call, formatWhen, logsSchema, type AttemptJson, type LogLine, type TransitionJson } from './api';
import styles from './runs.module.css';

/**
 * The selected block run's logs (followed while the run goes on, searchable), each failed
 * attempt's error, and its transitions. A dynamic block's child is a block run like any other:
 * its logs are under its own name (`load_month:jan`).
 */
export function BlockRunDetail({
  runId,
  block,
  status,
  live,
  tick,
  attempts,
  transitions,
}: {
  runId: string;
  block: string;
  /** Its status, when the page knows it (a child on another page of the list: not known). */
  status: string | null;
  live: boolean;
  tick: number;
  attempts: readonly AttemptJson[];
  transitions: readonly TransitionJson[];
}) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [search, setSearch] = useState('');
  const last = useRef(0);
  const base = `/api/runs/${encodeURIComponent(runId)}/logs?block=${encodeURIComponent(block)}`;

  useEffect(() => {
    setLines([]);
    last.current = 0;
  }, [block, search]);

  // Each push that says the logs changed (tick) pulls the lines after the last one shown.
  useEffect(() => {
    let stop = false;
    void call(`${base}&after=${last.current}${search ? `&q=${encodeURIComponent(search)}` : ''}`, logsSchema).then(({ logs }) => {
      // Two pulls may overlap (pushes come quickly): keep only lines not yet shown.
      const fresh = logs.filter((l) => l.id > last.current);
      if (stop || fresh.length === 0) return;
      last.current = fresh[fresh.length - 1]?.id ?? last.current;
      setLines((old) => [...old, ...fresh]);
    }, () => undefined);
    return () => {
      stop = true;
    };
  }, [base, search, tick]);

  const failed = attempts.filter((a) => a.error);
  return (
    <section aria-label={`Logs of ${block}`}>
      <div className={styles.row} style={{ alignItems: 'center', marginTop: 12 }}>
        <h2 style={{ margin: 0 }}>Logs of {block}</h2>
        <input aria-label="Search logs" placeholder="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        <span className="muted">{lines.length} lines{live ? ' · following' : ''}</span>
      </div>
      {failed.map((a) => (
        <p key={a.attempt} className={styles.error}>attempt {a.attempt}: {String(a.error?.message ?? '')}</p>
      ))}
      <pre className={styles.logs} data-testid="block-logs">
        {lines.map((l) => (
          <div key={l.id} className={l.stream === 'stderr' ? styles.stderr : l.stream === 'system' ? styles.system : undefined}>
            {formatWhen(l.at).slice(11)} #{l.attempt} {l.text}
          </div>
        ))}
        {lines.length === 0 && (status === 'queued' || status === 'initial' ? 'not started yet' : 'no log lines')}
      </pre>
      {transitions.length > 0 && (
        <details style={{ marginTop: 6 }}>
          <summary className="muted">Transitions of {block} ({transitions.length})</summary>
          <table className={styles.table} aria-label={`Transitions of ${block}`}>
            <tbody>
              {transitions.map((e) => (
                <tr key={e.id}><td>{formatWhen(e.at)}</td><td>{e.status}</td><td>{e.attempt ?? ''}</td><td>{e.message ?? ''}</td></tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}
