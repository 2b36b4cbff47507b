'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { formatWhen } from '@/components/runs/api';
import { ErrorNote } from '@/components/shared/ErrorNote';
import { fetchJson } from '@/components/shared/fetch-json';
import { workersResponseSchema, type ShownWorkerState, type WorkersResponse, type WorkerViewJson } from '@/lib/protocol/workers-api';
import runStyles from '@/components/runs/runs.module.css';
import styles from './workers.module.css';

/**
 * How often the page asks again. Heartbeats are 2 s apart by default, so a shorter poll would mostly
 * show the same numbers; a longer one would leave a process that just died looking alive.
 */
const POLL_MS = 3_000;

/** "3 s ago", "5 min ago", "2 h ago", "4 d ago": how long a process has been silent. */
function formatAgo(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** Resident memory in MiB, with a decimal below 10 MiB (a just-started process). */
function formatMiB(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return `${mib < 10 ? mib.toFixed(1) : Math.round(mib)} MiB`;
}

const STATE_TITLES: Record<ShownWorkerState, string> = {
  alive: 'heartbeating; takes runs from its queues',
  draining: 'stopping: takes no new runs, finishes or hands back the ones it has',
  late: 'no heartbeat for longer than the lost timeout: it may be dead, but nobody has marked it lost yet',
  stopped: 'ended cleanly',
  lost: 'found dead by another process: its runs were moved to other workers',
};

/**
 * The workers page (what flower is to Airflow): every process that drives runs, from GET
 * /api/workers, asked again every few seconds. Lost processes are marked and list the runs that
 * were moved away from them; each run links to its page.
 */
export function WorkersTable() {
  const [data, setData] = useState<WorkersResponse | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The next request waits for the last answer, so a slow server never gets a pile of them.
    const poll = async () => {
      try {
        const next = await fetchJson('/api/workers', workersResponseSchema);
        if (stopped) return;
        setData(next);
        setError(null);
      } catch (e) {
        if (stopped) return;
        // The last table stays up, with the reason it is not fresh.
        setError(e instanceof Error ? e.message : String(e));
      }
      timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  if (!data) return error ? <ErrorNote message={error} /> : <p className="muted">Loading…</p>;
  const count = (state: ShownWorkerState) => data.workers.filter((w) => w.shownStatus === state).length;
  return (
    <div>
      <p className={styles.summary} data-testid="workers-summary">
        {(['alive', 'draining', 'late', 'lost'] as const).map((s) => (
          <span key={s} className={styles.state} data-status={s}>
            {count(s)} {s}
          </span>
        ))}
        <span className="muted">
          Refreshed every {POLL_MS / 1000} s. A live process silent for over {data.lostAfterSeconds} s is shown as late (heartbeats every {data.heartbeatMs / 1000} s).
        </span>
      </p>
      <ErrorNote message={error} />
      <table className={runStyles.table} aria-label="Workers">
        <thead>
          <tr>
            <th>Worker</th><th>Kind</th><th>Host</th><th>PID</th><th>Version</th><th>Queues</th><th>Concurrency</th><th>Status</th><th>Running now</th><th>Last heartbeat</th><th>Done / failed</th><th>Memory</th>
          </tr>
        </thead>
        <tbody>
          {data.workers.map((w) => (
            <WorkerTableRow key={w.id} worker={w} />
          ))}
        </tbody>
      </table>
      {data.workers.length === 0 && <p className="muted">No process has registered yet: start `grimoire start` or `grimoire worker`.</p>}
      {data.endedNotShown > 0 && (
        <p className="muted" data-testid="workers-not-shown">
          {data.endedNotShown} older stopped or lost process{data.endedNotShown === 1 ? '' : 'es'} not shown.
        </p>
      )}
    </div>
  );
}

function WorkerTableRow({ worker: w }: { worker: WorkerViewJson }) {
  return (
    <tr className={styles.row} data-testid={`worker-${w.id}`} data-status={w.shownStatus}>
      <td className={styles.id}>{w.id}</td>
      <td>{w.kind}</td>
      <td data-testid="worker-host">{w.host}</td>
      <td data-testid="worker-pid">{w.pid}</td>
      <td>{w.version}</td>
      <td data-testid="worker-queues">{w.queues.length > 0 ? w.queues.join(', ') : '—'}</td>
      <td>{w.concurrency > 0 ? w.concurrency : '—'}</td>
      <td>
        <span className={styles.state} data-status={w.shownStatus} data-testid="worker-status" title={STATE_TITLES[w.shownStatus]}>
          {w.shownStatus === 'lost' ? 'LOST' : w.shownStatus}
        </span>
        {w.stopped_at && <div className={styles.note} title={w.stopped_at}>since {formatWhen(w.stopped_at)}</div>}
        {w.moved_runs.length > 0 && (
          <div className={styles.moved} data-testid="worker-moved">
            {w.moved_runs.length} run{w.moved_runs.length === 1 ? '' : 's'} moved to other workers:{' '}
            {w.moved_runs.map((id, i) => (
              <span key={id}>
                {i > 0 && ', '}
                <Link href={`/runs/${encodeURIComponent(id)}`} title={id}>
                  {id.slice(0, 8)}
                </Link>
              </span>
            ))}
          </div>
        )}
      </td>
      <td data-testid="worker-running">
        {w.running.length === 0
          ? '—'
          : w.running.map((r) => (
              <div key={r.runId}>
                <Link href={`/runs/${encodeURIComponent(r.runId)}`} title={r.startedAt ? `started ${r.startedAt}` : undefined}>
                  {r.project}/{r.pipeline} {r.runId.slice(0, 8)}
                </Link>
              </div>
            ))}
      </td>
      <td data-testid="worker-heartbeat" title={w.heartbeat_at}>
        {formatAgo(w.silentSeconds)}
      </td>
      <td>
        {w.runs_completed} / <span className={w.runs_failed > 0 ? styles.failed : undefined}>{w.runs_failed}</span>
      </td>
      {/* 0: the process never reported its memory (a row written by hand or by an old version). */}
      <td>{w.memory_rss > 0 ? formatMiB(w.memory_rss) : '—'}</td>
    </tr>
  );
}
