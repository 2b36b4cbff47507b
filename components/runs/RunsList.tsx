'use client';

import Link from 'next/link';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { z } from 'zod';
import { RUN_KINDS } from '@/lib/store/types';
import { useRunChanges } from './live';
import { backfillListSchema, call, formatMs, formatWhen, runSummarySchema, type RunSummaryJson } from './api';
import styles from './runs.module.css';

const runList = z.object({ runs: z.array(runSummarySchema) });
type Backfill = z.infer<typeof backfillListSchema>['backfills'][number];

const COLORS: Record<string, string> = { completed: 'var(--ok)', failed: 'var(--bad)', running: 'var(--run)', cancelled: 'var(--exporter)', initial: 'var(--border)' };

/** Runs of a pipeline with filters, and its backfills with progress. */
export function RunsList({ project, pipeline }: { project: string; pipeline: string }) {
  const [runs, setRuns] = useState<RunSummaryJson[]>([]);
  const [backfills, setBackfills] = useState<Backfill[]>([]);
  const [status, setStatus] = useState('');
  const [kind, setKind] = useState('');
  const [trigger, setTrigger] = useState('');
  const [error, setError] = useState<string | null>(null);
  const q = `project=${encodeURIComponent(project)}&pipeline=${encodeURIComponent(pipeline)}`;

  const load = useCallback(async () => {
    try {
      const filters = [status && `status=${status}`, kind && `kind=${kind}`, trigger && `trigger=${encodeURIComponent(trigger)}`].filter(Boolean).join('&');
      const [r, b] = await Promise.all([call(`/api/runs?${q}${filters ? `&${filters}` : ''}`, runList), call(`/api/runs/backfills?${q}`, backfillListSchema)]);
      setRuns(r.runs);
      setBackfills(b.backfills);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [q, status, kind, trigger]);

  useEffect(() => void load(), [load]);
  // A run of this pipeline was created or changed state (pushed; see lib/server/run-watch.ts).
  useRunChanges({ type: 'watch_runs', project, pipeline }, () => void load());

  const onBackfill = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (key: string) => String(form.get(key) ?? '').trim();
    setError(null);
    void call(`/api/runs/backfills?${q}`, z.unknown(), {
      method: 'POST',
      body: {
        name: text('name') || 'backfill',
        start_datetime: text('start'),
        end_datetime: text('end'),
        interval_unit: text('unit'),
        interval_value: Number(text('value') || 1),
        concurrency: Number(text('concurrency') || 2),
      },
    }).then(
      () => load(),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  };

  return (
    <div>
      <div className={styles.row}>
        <Link href={`/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(pipeline)}/triggers`}>Triggers</Link>
        <Link href={`/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(pipeline)}`}>Editor</Link>
      </div>
      {error && <p className={styles.error} role="alert">{error}</p>}
      <form className={styles.panel} onSubmit={onBackfill} aria-label="New backfill">
        <h2>Backfill</h2>
        <div className={styles.row}>
          <label>Name<input name="name" placeholder="q4_2020" /></label>
          <label>From (UTC)<input name="start" required placeholder="2020-10-01 00:00:00" /></label>
          <label>To (UTC, exclusive)<input name="end" required placeholder="2021-01-01 00:00:00" /></label>
          <label>
            Every
            <span style={{ display: 'flex', gap: 4 }}>
              <input name="value" type="number" min={1} defaultValue={1} style={{ width: 60 }} />
              <select name="unit" defaultValue="day">
                {['minute', 'hour', 'day', 'week', 'month'].map((u) => <option key={u} value={u}>{u}</option>)}
              </select>
            </span>
          </label>
          <label>At once<input name="concurrency" type="number" min={1} defaultValue={2} style={{ width: 60 }} /></label>
          <button type="submit">Start backfill</button>
        </div>
        {backfills.map((b) => {
          const total = Object.values(b.progress).reduce((a, n) => a + n, 0);
          return (
            <div key={b.id} className={styles.row} style={{ alignItems: 'center' }} data-testid={`backfill-${b.name}`}>
              <strong>{b.name}</strong>
              <span className="muted">{formatWhen(b.start_datetime)} → {formatWhen(b.end_datetime)}, every {b.interval_value} {b.interval_unit}, {b.concurrency} at once</span>
              <span className={styles.progress} title={JSON.stringify(b.progress)}>
                {Object.entries(b.progress).map(([s, n]) => <span key={s} style={{ width: `${total ? (100 * n) / total : 0}%`, background: COLORS[s] ?? 'var(--muted)' }} />)}
              </span>
              <span>{(b.progress.completed ?? 0) + (b.progress.failed ?? 0) + (b.progress.cancelled ?? 0)} / {total} done</span>
              <span className={styles.badge} data-status={b.status}>{b.status}</span>
              <button type="button" onClick={() => setKind('backfill')}>Show its runs</button>
            </div>
          );
        })}
      </form>
      <div className={styles.row}>
        <label>
          Status
          <select aria-label="Filter by status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            {['initial', 'running', 'completed', 'failed', 'cancelled'].map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>
          Kind
          <select aria-label="Filter by kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">all</option>
            {RUN_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        <label>
          Trigger
          <input aria-label="Filter by trigger" value={trigger} onChange={(e) => setTrigger(e.target.value)} placeholder="name" />
        </label>
      </div>
      <table className={styles.table} aria-label="Runs">
        <thead>
          <tr><th>Run</th><th>Status</th><th>Kind</th><th>Started by</th><th>Trigger</th><th>Execution date</th><th>Created</th><th>Duration</th><th>Attempt</th></tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td><Link href={`/runs/${r.id}`}>{r.id.slice(0, 8)}</Link></td>
              <td>
                <span className={styles.badge} data-status={r.status}>{r.status}</span>
                {r.sla_missed ? <span className={styles.badge} data-status="failed" title="not completed within the trigger's SLA"> SLA missed</span> : null}
              </td>
              <td data-testid="run-kind">{r.kind}</td>
              <td>{r.started_by_name ?? '—'}</td>
              <td>{r.trigger_name ?? '—'}</td>
              <td>{formatWhen(r.execution_date)}</td>
              <td>{formatWhen(r.created_at)}</td>
              <td>{r.started_at ? formatMs((r.completed_at ? Date.parse(r.completed_at) : Date.now()) - Date.parse(r.started_at)) : '—'}</td>
              <td>{r.attempt}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.length === 0 && <p className="muted">No runs match.</p>}
    </div>
  );
}
