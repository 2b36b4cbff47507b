'use client';

import Link from 'next/link';
import { Fragment, useCallback, useEffect, useRef, useState } from 'react';
import { z } from 'zod';
import { formatCount } from '@/lib/intl-format';
import { blockOfRun } from '@/lib/ui/run-page';
import { useRunChanges } from './live';
import { BlockRunCells } from './BlockRunCells';
import { BlockRunDetail } from './BlockRunDetail';
import { ChildRuns } from './ChildRuns';
import { RunCodeView } from './RunCodeView';
import { RunGraph, Timeline } from './RunGraphs';
import { call, FINISHED_RUN, formatWhen, runReportSchema, type AttemptJson, type BlockRunViewJson, type ChildPageJson, type RunReportJson as View, type TransitionJson } from './api';
import styles from './runs.module.css';

interface SelectedChild {
  view: BlockRunViewJson;
  attempts: AttemptJson[];
  transitions: TransitionJson[];
}

/** Child `name` of a page of children, with its attempts and transitions; null when not on it. */
function childOf(page: ChildPageJson, name: string): SelectedChild | null {
  const view = page.children.find((c) => c.block_uuid === name);
  if (!view) return null;
  return { view, attempts: page.attempts.filter((a) => a.block_uuid === name), transitions: page.events.filter((e) => e.block_uuid === name) };
}

/**
 * One run: graph coloured by block-run state, a timeline of attempts, the block runs (a dynamic
 * block's children in a paged list under it), logs per block run (followed while running,
 * searchable), and the code each block ran. The run is read with its children counted, not
 * listed (GET /api/runs/<id>?children=summary): a run of 1,000 children loads as quickly as one of ten.
 */
export function RunReportView({ id }: { id: string }) {
  const [view, setView] = useState<View | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  /** The fanned-out block whose children are listed, and the page of them last read. */
  const [expanded, setExpanded] = useState<string | null>(null);
  const [childPage, setChildPage] = useState<ChildPageJson | null>(null);
  /** The selected child as last read, with its attempts and transitions (it stays shown when the list pages on). */
  const [selectedChild, setSelectedChild] = useState<SelectedChild | null>(null);

  const load = useCallback(async () => {
    try {
      setView(await call(`/api/runs/${encodeURIComponent(id)}?children=summary`, runReportSchema));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [id]);

  const finished = view ? FINISHED_RUN.has(view.run.status) : false;
  // Pushed over the socket when the run, a block run or its logs change (in any process).
  const [logTick, setLogTick] = useState(0);
  const [stateTick, setStateTick] = useState(0);
  useEffect(() => void load(), [load]);
  // A chatty block adds log lines many times a second: those pull new lines only, not the whole run.
  // A sensor's pokes are log lines, not moves: while one runs, new lines read the run again too.
  const sensorRunning = useRef(false);
  useRunChanges({ type: 'watch_run', runId: id }, ({ state, logs }) => {
    if (state || (logs && sensorRunning.current)) {
      void load();
      setStateTick((t) => t + 1);
    }
    if (logs) setLogTick((t) => t + 1);
  });
  // A waiting sensor counts down to its next poke; the run page, not the server, keeps the clock.
  const [now, setNow] = useState(() => new Date());
  const sensors = new Set(view?.graph.filter((g) => g.type === 'sensor').map((g) => g.uuid));
  const running = [...(view?.blocks ?? []), ...(childPage?.children ?? [])].filter((b) => b.status === 'running');
  sensorRunning.current = running.some((b) => sensors.has(blockOfRun(b.block_uuid)));
  const waiting = running.some((b) => b.last_poke && !b.last_poke.satisfied);
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => setNow(new Date()), 1000);
    return () => clearInterval(timer);
  }, [waiting]);
  // Sensor lines are written after each poke: a new one moves the countdown (and a finished run stops it).
  useEffect(() => setNow(new Date()), [view, childPage]);

  const onChildPage = useCallback((page: ChildPageJson) => {
    setChildPage(page);
    setSelectedChild((old) => (old ? (childOf(page, old.view.block_uuid) ?? old) : old));
  }, []);
  const selectChild = (name: string) => {
    setSelected(name);
    setSelectedChild(childPage ? childOf(childPage, name) : null);
  };

  const block = selected ?? view?.blocks.find((b) => b.status === 'failed')?.block_uuid ?? view?.blocks[0]?.block_uuid ?? null;
  const act = (action: 'cancel' | 'retry') =>
    call(`/api/runs/${encodeURIComponent(id)}/actions`, z.unknown(), { method: 'POST', body: { action } }).then(
      () => load(),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );

  if (!view) return <p className="muted">{error ?? 'Loading…'}</p>;
  const r = view.run;
  const own = block ? view.blocks.find((b) => b.block_uuid === block) : undefined;
  const child = !own && block && selectedChild?.view.block_uuid === block ? selectedChild : null;
  const detail = own
    ? { status: own.status, attempts: view.attempts.filter((a) => a.block_uuid === block), transitions: view.events.filter((e) => e.block_uuid === block) }
    : { status: child?.view.status ?? null, attempts: child?.attempts ?? [], transitions: child?.transitions ?? [] };
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
      {view.waiting_for && (
        <p className="muted" data-testid="run-waiting">
          {view.waiting_for}
        </p>
      )}
      <details>
        <summary className="muted">Variables</summary>
        <pre className={styles.logs}>{JSON.stringify(r.variables, null, 2)}</pre>
      </details>
      <div className={styles.grid}>
        <div>
          <h2>Graph</h2>
          <RunGraph view={view} selected={block === null ? null : blockOfRun(block)} onSelect={setSelected} />
          <h2 style={{ marginTop: 12 }}>Timeline</h2>
          <Timeline view={view} now={now.getTime()} />
        </div>
        <div>
          <h2>Block runs</h2>
          <table className={styles.table} aria-label="Block runs">
            <thead>
              <tr><th>Block</th><th>Status</th><th>Attempts</th><th>Rows</th><th>Duration</th></tr>
            </thead>
            <tbody>
              {view.blocks.map((b) => {
                const children = b.children && b.children.total > 0 ? b.children : null;
                const open = children !== null && expanded === b.block_uuid;
                return (
                  <Fragment key={b.block_uuid}>
                    <tr onClick={() => setSelected(b.block_uuid)} data-selected={block === b.block_uuid} style={{ cursor: 'pointer' }}>
                      <BlockRunCells view={b} now={now}>
                        {children && (
                          <button
                            type="button"
                            className={styles.expand}
                            aria-expanded={open}
                            onClick={(e) => {
                              e.stopPropagation();
                              setExpanded(open ? null : b.block_uuid);
                              setChildPage(null);
                            }}
                          >
                            {open ? 'hide' : 'show'} {formatCount(children.total)} {children.total === 1 ? 'child' : 'children'}
                          </button>
                        )}
                      </BlockRunCells>
                    </tr>
                    {open && children && (
                      <tr>
                        <td colSpan={5}>
                          <ChildRuns runId={id} block={b.block_uuid} summary={children} tick={stateTick} now={now} selected={block} onSelect={selectChild} onPage={onChildPage} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
          {block && (
            <BlockRunDetail
              runId={id}
              block={block}
              status={detail.status}
              live={!finished}
              tick={logTick}
              attempts={detail.attempts}
              transitions={detail.transitions}
            />
          )}
          {block && <RunCodeView runId={id} pipeline={r.pipeline} block={blockOfRun(block)} />}
        </div>
      </div>
      <details style={{ marginTop: 12 }}>
        <summary className="muted">Every state transition of the run and its blocks ({view.events.length}; a child&apos;s are with its logs)</summary>
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
