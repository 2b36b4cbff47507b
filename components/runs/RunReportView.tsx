'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { z } from 'zod';
import { layoutBlocks, NODE_HEIGHT, NODE_WIDTH } from '@/lib/ui/graph-layout';
import { useRunChanges } from './live';
import { RunCodeView } from './RunCodeView';
import { call, FINISHED_RUN, formatMs, formatWhen, logsSchema, runReportSchema, type LogLine, type RunReportJson as View } from './api';
import styles from './runs.module.css';

/** One run: graph coloured by block-run state, a timeline of attempts, logs per block (followed while running, searchable), and the code each block ran. */
export function RunReportView({ id }: { id: string }) {
  const [view, setView] = useState<View | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setView(await call(`/api/runs/${encodeURIComponent(id)}`, runReportSchema));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [id]);

  const finished = view ? FINISHED_RUN.has(view.run.status) : false;
  // Pushed over the socket when the run, a block run or its logs change (in any process).
  const [logTick, setLogTick] = useState(0);
  useEffect(() => void load(), [load]);
  // A chatty block adds log lines many times a second: those pull new lines only, not the whole run.
  useRunChanges({ type: 'watch_run', runId: id }, ({ state, logs }) => {
    if (state) void load();
    if (logs) setLogTick((t) => t + 1);
  });

  const block = selected ?? view?.blocks.find((b) => b.status === 'failed')?.block_uuid ?? view?.blocks[0]?.block_uuid ?? null;
  const act = (action: 'cancel' | 'retry') =>
    call(`/api/runs/${encodeURIComponent(id)}/actions`, z.unknown(), { method: 'POST', body: { action } }).then(
      () => load(),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );

  if (!view) return <p className="muted">{error ?? 'Loading…'}</p>;
  const r = view.run;
  return (
    <div>
      <nav className="crumbs">
        <Link href="/">Projects</Link> / <Link href={`/projects/${encodeURIComponent(r.project)}`}>{r.project}</Link> /{' '}
        <Link href={`/projects/${encodeURIComponent(r.project)}/pipelines/${encodeURIComponent(r.pipeline)}/runs`}>{r.pipeline} runs</Link> / <h1 className="inline">run {r.id.slice(0, 8)}</h1>
      </nav>
      {error && <p className={styles.error} role="alert">{error}</p>}
      <div className={styles.row} style={{ alignItems: 'center' }}>
        <span className={styles.badge} data-status={r.status} data-testid="run-status">{r.status}</span>
        {view.sla_missed && <span className={styles.badge} data-status="failed">SLA missed</span>}
        <span className="muted">
          {r.kind}
          {view.started_by_name ? ` · started by ${view.started_by_name}` : ''}
          {view.trigger_name ? ` · trigger ${view.trigger_name}` : ''} · execution {formatWhen(r.execution_date)} · created {formatWhen(r.created_at)} · attempt {r.attempt}
        </span>
        <span className="spacer" />
        {!finished && <button type="button" onClick={() => void act('cancel')}>Cancel run</button>}
        {(r.status === 'failed' || r.status === 'cancelled') && <button type="button" onClick={() => void act('retry')}>Retry from failed blocks</button>}
      </div>
      {r.error && <p className={styles.error}>{r.error}</p>}
      <details>
        <summary className="muted">Variables</summary>
        <pre className={styles.logs}>{JSON.stringify(r.variables, null, 2)}</pre>
      </details>
      <div className={styles.grid}>
        <div>
          <h2>Graph</h2>
          <RunGraph view={view} selected={block} onSelect={setSelected} />
          <h2 style={{ marginTop: 12 }}>Timeline</h2>
          <Timeline view={view} />
        </div>
        <div>
          <h2>Block runs</h2>
          <table className={styles.table} aria-label="Block runs">
            <thead>
              <tr><th>Block</th><th>Status</th><th>Attempts</th><th>Rows</th><th>Duration</th></tr>
            </thead>
            <tbody>
              {view.blocks.map((b) => (
                <tr key={b.block_uuid} onClick={() => setSelected(b.block_uuid)} style={{ cursor: 'pointer' }}>
                  <td>{b.block_uuid}</td>
                  <td><span className={styles.badge} data-status={b.status} data-testid={`block-status-${b.block_uuid}`}>{b.status}</span></td>
                  <td>{b.attempts}</td>
                  <td>{b.row_count ?? '—'}</td>
                  <td>{b.started_at ? formatMs((b.completed_at ? Date.parse(b.completed_at) : Date.now()) - Date.parse(b.started_at)) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {block && <BlockLogs runId={id} block={block} live={!finished} tick={logTick} view={view} />}
          {block && <RunCodeView runId={id} pipeline={r.pipeline} block={block} />}
        </div>
      </div>
      <details style={{ marginTop: 12 }}>
        <summary className="muted">Every state transition ({view.events.length})</summary>
        <table className={styles.table} aria-label="Transitions">
          <tbody>
            {view.events.map((e) => (
              <tr key={e.id}><td>{formatWhen(e.at)}</td><td>{e.block_uuid ?? 'run'}</td><td>{e.status}</td><td>{e.attempt ?? ''}</td><td>{e.message ?? ''}</td></tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}

function RunGraph({ view, selected, onSelect }: { view: View; selected: string | null; onSelect: (b: string) => void }) {
  const status = new Map(view.blocks.map((b) => [b.block_uuid, b]));
  const nodes = view.graph.length > 0 ? view.graph.filter((n) => status.has(n.uuid)) : view.blocks.map((b) => ({ uuid: b.block_uuid, upstream: [] }));
  const positions = layoutBlocks(nodes);
  const width = Math.max(...[...positions.values()].map((p) => p.x + NODE_WIDTH), NODE_WIDTH) + 20;
  const height = Math.max(...[...positions.values()].map((p) => p.y + NODE_HEIGHT), NODE_HEIGHT) + 20;
  return (
    <div className={styles.graph}>
      <svg width={width} height={height} role="img" aria-label="Run graph">
        {nodes.flatMap((n) =>
          n.upstream.map((u) => {
            const from = positions.get(u);
            const to = positions.get(n.uuid);
            if (!from || !to) return null;
            return <path key={`${u}-${n.uuid}`} className={styles.edge} d={`M${from.x + NODE_WIDTH / 2},${from.y + NODE_HEIGHT} L${to.x + NODE_WIDTH / 2},${to.y}`} />;
          }),
        )}
        {nodes.map((n) => {
          const p = positions.get(n.uuid) ?? { x: 0, y: 0 };
          const b = status.get(n.uuid);
          return (
            <g
              key={n.uuid}
              className={styles.node}
              data-status={b?.status ?? 'initial'}
              data-selected={selected === n.uuid}
              data-testid={`node-${n.uuid}`}
              transform={`translate(${p.x},${p.y})`}
              onClick={() => onSelect(n.uuid)}
            >
              <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />
              <text x={10} y={22}>{n.uuid}</text>
              <text x={10} y={40} className={styles.sub}>{b ? `${b.status}${b.attempts > 1 ? ` · ${b.attempts} attempts` : ''}` : ''}</text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function Timeline({ view }: { view: View }) {
  const attempts = view.attempts;
  if (attempts.length === 0) return <p className="muted">No block has started yet.</p>;
  const now = Date.now();
  const start = Math.min(...attempts.map((a) => Date.parse(a.started_at)));
  const end = Math.max(...attempts.map((a) => (a.finished_at ? Date.parse(a.finished_at) : now)), start + 1);
  const span = end - start;
  return (
    <div className={styles.timeline} aria-label="Timeline">
      {view.blocks.map((b) => {
        const mine = attempts.filter((a) => a.block_uuid === b.block_uuid);
        const total = mine.reduce((sum, a) => sum + ((a.finished_at ? Date.parse(a.finished_at) : now) - Date.parse(a.started_at)), 0);
        return (
          <div key={b.block_uuid} className={styles.lane}>
            <span>{b.block_uuid}</span>
            <span className={styles.track}>
              {mine.map((a) => {
                const s = Date.parse(a.started_at);
                const e = a.finished_at ? Date.parse(a.finished_at) : now;
                return (
                  <span
                    key={a.attempt}
                    className={styles.bar}
                    data-status={a.status}
                    title={`attempt ${a.attempt}: ${a.status}, ${formatMs(e - s)}`}
                    style={{ left: `${(100 * (s - start)) / span}%`, width: `${(100 * (e - s)) / span}%` }}
                  />
                );
              })}
            </span>
            <span className="muted">{mine.length ? formatMs(total) : '—'}</span>
          </div>
        );
      })}
    </div>
  );
}

function BlockLogs({ runId, block, live, tick, view }: { runId: string; block: string; live: boolean; tick: number; view: View }) {
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

  const b = view.blocks.find((x) => x.block_uuid === block);
  const failed = view.attempts.filter((a) => a.block_uuid === block && a.error);
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
        {lines.length === 0 && (b?.status === 'queued' || b?.status === 'initial' ? 'not started yet' : 'no log lines')}
      </pre>
    </section>
  );
}
