'use client';

import { useEffect, useState } from 'react';
import { formatCount } from '@/lib/intl-format';
import { type BlockRunStatus } from '@/lib/run/states';
import { childStatusOptions, pageLabel } from '@/lib/ui/run-page';
import { BlockRunCells } from './BlockRunCells';
import { call, childPageSchema, type BlockRunViewJson, type ChildPageJson } from './api';
import styles from './runs.module.css';

/** Children shown at once: a run of 1,000 children stays one quick request and a short table. */
export const CHILD_PAGE_SIZE = 50;

/**
 * A dynamic block's children as a paged list (GET /api/runs/<id>/children), filtered by status,
 * each row with its own status, attempts, rows and time; a click selects it for its logs and code.
 * `tick` changes when the run changed (pushed over the socket): the page shown is read again.
 */
export function ChildRuns({
  runId,
  block,
  summary,
  tick,
  now,
  selected,
  onSelect,
  onPage,
}: {
  runId: string;
  block: string;
  summary: NonNullable<BlockRunViewJson['children']>;
  tick: number;
  now: Date;
  selected: string | null;
  onSelect: (name: string) => void;
  onPage: (page: ChildPageJson) => void;
}) {
  const [offset, setOffset] = useState(0);
  const [status, setStatus] = useState<BlockRunStatus | ''>('');
  const [page, setPage] = useState<ChildPageJson | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    const q = new URLSearchParams({ block, offset: String(offset), limit: String(CHILD_PAGE_SIZE), ...(status ? { status } : {}) });
    call(`/api/runs/${encodeURIComponent(runId)}/children?${q.toString()}`, childPageSchema).then(
      (p) => {
        if (stop) return;
        setPage(p);
        setError(null);
        onPage(p);
      },
      (e: unknown) => {
        if (!stop) setError(e instanceof Error ? e.message : String(e));
      },
    );
    return () => {
      stop = true;
    };
    // onPage is left out: a new function at each render of the parent must not read the page again.
  }, [runId, block, offset, status, tick]);

  const total = page?.total ?? 0;
  const shown = page?.children.length ?? 0;
  return (
    <div className={styles.children} aria-label={`Children of ${block}`}>
      <div className={styles.row} style={{ alignItems: 'center', marginBottom: 4 }}>
        <select
          aria-label={`Show children of ${block} with status`}
          value={status}
          onChange={(e) => {
            const chosen = childStatusOptions(summary).find((o) => o.status === e.target.value);
            setStatus(chosen?.status ?? '');
            setOffset(0);
          }}
        >
          <option value="">all ({formatCount(summary.total)})</option>
          {childStatusOptions(summary).map((o) => (
            <option key={o.status} value={o.status}>{o.label}</option>
          ))}
        </select>
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - CHILD_PAGE_SIZE))}>Previous</button>
        <span className="muted" data-testid={`children-page-${block}`}>{page ? pageLabel(offset, shown, total) : 'Loading…'}</span>
        <button type="button" disabled={offset + shown >= total} onClick={() => setOffset(offset + CHILD_PAGE_SIZE)}>Next</button>
      </div>
      {error && <p className={styles.error} role="alert">{error}</p>}
      {/* A page of 50 scrolls in its own box, so the logs below stay in reach. */}
      <div className={styles.childScroll}>
        <table className={styles.table} aria-label={`Child runs of ${block}`}>
          <tbody>
            {page?.children.map((c) => (
              <tr key={c.block_uuid} onClick={() => onSelect(c.block_uuid)} data-selected={selected === c.block_uuid} className={styles.child}>
                <BlockRunCells view={c} now={now} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
