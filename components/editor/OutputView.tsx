'use client';
import { useEffect, useState } from 'react';
import { type OutputPreview } from '@/lib/protocol/run-events';
import { FILTER_OPS, type FilterOp, type OutputAnswer, type OutputFilter, type OutputSort } from '@/lib/protocol/output-query';
import { OutputChart } from './OutputChart';
import { useEditorState } from './editor-state';
import { ErrorNote } from '@/components/shared/ErrorNote';

type Page = Extract<OutputAnswer, { kind: 'page' }>;

const OP_LABELS: Record<FilterOp, string> = {
  contains: 'contains',
  equals: '=',
  not_equals: '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  is_null: 'is empty',
  not_null: 'is not empty',
};

const PAGE_SIZES = [10, 50, 100];
const fmt = (n: number) => n.toLocaleString('en-US');

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * A block's output: a table paged, sorted and filtered by the kernel's DuckDB over the whole output,
 * and a chart tab. The run's preview shows at once; pages come from the server on demand.
 */
export function OutputView({
  block,
  preview,
  outputKey,
  label = block,
  initialSize = 10,
}: {
  block: string;
  preview?: OutputPreview;
  outputKey: number;
  /** Names this view in accessible labels and test ids, where one block's output shows twice. */
  label?: string;
  initialSize?: number;
}) {
  const ask = useEditorState((s) => s.ask);
  const connected = useEditorState((s) => s.run.connected);
  const [tab, setTab] = useState<'table' | 'chart'>('table');
  // Position and answer belong to the output they were made for: a new output (outputKey) starts
  // from its first page in the very render it arrives, so the old position is never asked of it.
  const [position, setPosition] = useState({ outputKey, offset: 0 });
  const offset = position.outputKey === outputKey ? position.offset : 0;
  const setOffset = (next: number) => setPosition({ outputKey, offset: next });
  const [answered, setAnswered] = useState<{ outputKey: number; page: Page } | null>(null);
  const page = answered?.outputKey === outputKey ? answered.page : null;
  const [size, setSize] = useState(initialSize);
  const [sort, setSort] = useState<OutputSort | undefined>();
  const [filter, setFilter] = useState<OutputFilter | null>(null);
  const [draft, setDraft] = useState<OutputFilter>({ column: '', op: 'contains', value: '' });
  const [message, setMessage] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  // The first page, unsorted and unfiltered, came with the block's completion (its preview): showing
  // it needs no question to the kernel. Paging, sorting and filtering ask.
  const previewIsPage = offset === 0 && !sort && !filter && preview !== undefined && preview.rows.length >= Math.min(size, preview.rowCount);

  useEffect(() => {
    if (previewIsPage) {
      setAnswered(null);
      setMessage(null);
      setLoading(false);
      return;
    }
    if (!connected) return;
    let cancelled = false;
    setLoading(true);
    void ask(block, { kind: 'page', offset, limit: size, sort, filters: filter ? [filter] : [] }).then((r) => {
      if (cancelled) return;
      setLoading(false);
      if (r.ok && r.answer.kind === 'page') {
        setAnswered({ outputKey, page: r.answer });
        setMessage(null);
      } else if (!r.ok) {
        // No output yet is the normal state of a block that never ran: show nothing.
        setMessage(/has no output yet/.test(r.message) ? null : r.message);
        if (/has no output yet/.test(r.message)) setAnswered(null);
      }
    });
    return () => {
      cancelled = true;
    };
  }, [ask, block, connected, offset, size, sort, filter, outputKey, previewIsPage]);

  const shown: Page | null = page ?? (preview ? { kind: 'page', columns: preview.columns, rows: preview.rows.slice(0, size), offset: 0, rowCount: preview.rowCount, totalRowCount: preview.rowCount } : null);
  if (!shown) return message ? <p className="error">{message}</p> : null;
  const total = shown.totalRowCount;
  const matching = shown.rowCount;
  const last = Math.max(0, Math.floor((matching - 1) / size) * size);
  const columns = shown.columns;

  const toggleSort = (column: string) => {
    setOffset(0);
    setSort((s) => (s?.column !== column ? { column, direction: 'asc' } : s.direction === 'asc' ? { column, direction: 'desc' } : undefined));
  };

  return (
    <div className="output-view">
      <div className="output-bar">
        <span data-testid={`rowcount-${label}`}>
          {fmt(total)} {total === 1 ? 'row' : 'rows'} × {columns.length} {columns.length === 1 ? 'column' : 'columns'}
        </span>
        {columns.length > 0 ? (
          <span role="tablist" aria-label={`Output views of ${label}`} className="tabs">
            <button type="button" role="tab" aria-selected={tab === 'table'} onClick={() => setTab('table')}>
              Table
            </button>
            <button type="button" role="tab" aria-selected={tab === 'chart'} onClick={() => setTab('chart')}>
              Chart
            </button>
          </span>
        ) : null}
        {loading ? <span className="muted">loading…</span> : null}
      </div>
      <ErrorNote message={message} />
      {columns.length === 0 ? null : tab === 'chart' ? (
        <OutputChart block={block} label={label} columns={columns} filters={filter ? [filter] : []} />
      ) : (
        <>
          <form
            className="filter"
            aria-label={`Filter output of ${label}`}
            onSubmit={(e) => {
              e.preventDefault();
              const column = draft.column || columns[0]?.name || '';
              setOffset(0);
              setFilter({ ...draft, column });
            }}
          >
            <select aria-label="Filter column" value={draft.column || columns[0]?.name} onChange={(e) => setDraft({ ...draft, column: e.target.value })}>
              {columns.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name}
                </option>
              ))}
            </select>
            <select aria-label="Filter operator" value={draft.op} onChange={(e) => setDraft({ ...draft, op: FILTER_OPS.find((o) => o === e.target.value) ?? 'contains' })}>
              {FILTER_OPS.map((o) => (
                <option key={o} value={o}>
                  {OP_LABELS[o]}
                </option>
              ))}
            </select>
            <input aria-label="Filter value" value={draft.value} onChange={(e) => setDraft({ ...draft, value: e.target.value })} disabled={draft.op === 'is_null' || draft.op === 'not_null'} />
            <button type="submit">Apply filter</button>
            {filter ? (
              <button
                type="button"
                onClick={() => {
                  setFilter(null);
                  setOffset(0);
                }}
              >
                Clear filter
              </button>
            ) : null}
          </form>
          <div className="table-wrap">
            <table className="preview" aria-label={`Output of ${label}`} aria-rowcount={matching + 1}>
              <thead>
                <tr>
                  {columns.map((c) => (
                    <th key={c.name} scope="col" aria-sort={sort?.column === c.name ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'}>
                      <button type="button" className="sort" aria-label={`Sort by ${c.name}`} onClick={() => toggleSort(c.name)}>
                        {c.name}
                        {sort?.column === c.name ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''}
                      </button>
                      <small>{c.type}</small>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {shown.rows.map((row, i) => (
                  <tr key={shown.offset + i} aria-rowindex={shown.offset + i + 2}>
                    {columns.map((c) => (
                      <td key={c.name}>{cell(row[c.name])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label={`Pages of ${label}`}>
            <button type="button" onClick={() => setOffset(0)} disabled={offset === 0}>
              First page
            </button>
            <button type="button" onClick={() => setOffset(Math.max(0, offset - size))} disabled={offset === 0}>
              Previous page
            </button>
            <span data-testid={`range-${label}`}>
              {matching === 0 ? 'no rows' : `rows ${fmt(shown.offset + 1)}–${fmt(Math.min(matching, shown.offset + shown.rows.length))} of ${fmt(matching)}`}
              {filter ? ` (filtered from ${fmt(total)})` : ''}
            </span>
            <button type="button" onClick={() => setOffset(Math.min(last, offset + size))} disabled={offset >= last}>
              Next page
            </button>
            <button type="button" onClick={() => setOffset(last)} disabled={offset >= last}>
              Last page
            </button>
            <select
              aria-label="Rows per page"
              value={size}
              onChange={(e) => {
                setSize(Number(e.target.value));
                setOffset(0);
              }}
            >
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n} per page
                </option>
              ))}
            </select>
          </nav>
        </>
      )}
    </div>
  );
}
