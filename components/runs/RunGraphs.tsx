'use client';

import { layoutBlocks, NODE_HEIGHT, NODE_WIDTH } from '@/lib/ui/graph-layout';
import { formatMs, type RunReportJson as View } from './api';
import styles from './runs.module.css';

/** How many of a fanned-out block's children have ended. */
function childrenDone(children: NonNullable<View['blocks'][number]['children']>): number {
  const waiting = (children.statuses.initial ?? 0) + (children.statuses.queued ?? 0) + (children.statuses.running ?? 0);
  return children.total - waiting;
}

/** The pipeline's graph coloured by block-run state; a fanned-out block says how many of its children have ended. */
export function RunGraph({ view, selected, onSelect }: { view: View; selected: string | null; onSelect: (b: string) => void }) {
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
          const sub = b ? [b.status, b.attempts > 1 ? `${b.attempts} attempts` : '', b.children && b.children.total > 0 ? `${childrenDone(b.children)}/${b.children.total} children` : ''].filter(Boolean).join(' · ') : '';
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
              <text x={10} y={40} className={styles.sub}>{sub}</text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/**
 * One lane per block run with a bar per attempt. A fanned-out block never runs itself: its lane
 * spans its children, from its first start to its end. A block skipped by its conditional keeps
 * the colour of its skip (its attempt only asked the conditional).
 */
export function Timeline({ view, now }: { view: View; now: number }) {
  const attempts = view.attempts;
  const spans = view.blocks.filter((b) => b.started_at).map((b) => ({ s: Date.parse(b.started_at ?? ''), e: b.completed_at ? Date.parse(b.completed_at) : now }));
  if (attempts.length === 0 && spans.length === 0) return <p className="muted">No block has started yet.</p>;
  const start = Math.min(...attempts.map((a) => Date.parse(a.started_at)), ...spans.map((x) => x.s));
  const end = Math.max(...attempts.map((a) => (a.finished_at ? Date.parse(a.finished_at) : now)), ...spans.map((x) => x.e), start + 1);
  const span = end - start;
  const bar = (key: string | number, status: string, s: number, e: number, title: string) => (
    <span key={key} className={styles.bar} data-status={status} title={title} style={{ left: `${(100 * (s - start)) / span}%`, width: `${(100 * (e - s)) / span}%` }} />
  );
  return (
    <div className={styles.timeline} aria-label="Timeline">
      {view.blocks.map((b) => {
        const mine = attempts.filter((a) => a.block_uuid === b.block_uuid);
        const total = mine.reduce((sum, a) => sum + ((a.finished_at ? Date.parse(a.finished_at) : now) - Date.parse(a.started_at)), 0);
        const group = mine.length === 0 && b.children && b.started_at ? { s: Date.parse(b.started_at), e: b.completed_at ? Date.parse(b.completed_at) : now } : null;
        return (
          <div key={b.block_uuid} className={styles.lane}>
            <span>{b.block_uuid}</span>
            <span className={styles.track}>
              {group && bar('children', b.status, group.s, group.e, `${b.children?.total ?? 0} children: ${b.status}, ${formatMs(group.e - group.s)}`)}
              {mine.map((a) => {
                const s = Date.parse(a.started_at);
                const e = a.finished_at ? Date.parse(a.finished_at) : now;
                const shown = b.status === 'condition_failed' ? b.status : a.status;
                return bar(a.attempt, shown, s, e, `attempt ${a.attempt}: ${shown}, ${formatMs(e - s)}`);
              })}
            </span>
            <span className="muted">{mine.length ? formatMs(total) : group ? formatMs(group.e - group.s) : '—'}</span>
          </div>
        );
      })}
    </div>
  );
}
