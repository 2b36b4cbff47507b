'use client';
import { useState } from 'react';
import { type OutputFilter } from '@/lib/protocol/output-query';
import { useEditorState } from './editor-state';
import { ErrorNote } from '@/components/shared/ErrorNote';

type ChartKind = 'histogram' | 'bar' | 'line';
type Point = { label: string; value: number };

const W = 640;
const H = 220;
const PAD = 36;

/** A histogram, bar or line chart of chosen columns, aggregated by DuckDB over the whole output. */
export function OutputChart({ block, label = block, columns, filters }: { block: string; label?: string; columns: { name: string; type: string }[]; filters: OutputFilter[] }) {
  const ask = useEditorState((s) => s.ask);
  const [kind, setKind] = useState<ChartKind>('histogram');
  const [x, setX] = useState(columns[0]?.name ?? '');
  const [y, setY] = useState('');
  const [points, setPoints] = useState<Point[] | null>(null);
  const [drawn, setDrawn] = useState<{ kind: ChartKind; x: string; y: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const draw = async () => {
    const r = await ask(block, { kind: 'chart', chart: kind, x, y: y || undefined, filters });
    if (r.ok && r.answer.kind === 'chart') {
      setPoints(r.answer.points);
      setDrawn({ kind, x, y });
      setMessage(null);
    } else if (!r.ok) {
      setMessage(r.message);
    }
  };

  const max = Math.max(1, ...(points ?? []).map((p) => p.value));
  const n = points?.length ?? 0;
  const step = n > 0 ? (W - PAD * 2) / n : 0;
  const yOf = (v: number) => H - PAD - (v / max) * (H - PAD * 2);

  return (
    <div className="chart">
      <form
        className="filter"
        aria-label={`Chart of ${label}`}
        onSubmit={(e) => {
          e.preventDefault();
          void draw();
        }}
      >
        <select aria-label="Chart type" value={kind} onChange={(e) => setKind(e.target.value === 'bar' ? 'bar' : e.target.value === 'line' ? 'line' : 'histogram')}>
          <option value="histogram">Histogram</option>
          <option value="bar">Bar</option>
          <option value="line">Line</option>
        </select>
        <select aria-label="X column" value={x} onChange={(e) => setX(e.target.value)}>
          {columns.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
        {kind !== 'histogram' ? (
          <select aria-label="Y column" value={y} onChange={(e) => setY(e.target.value)}>
            <option value="">{kind === 'bar' ? '(count rows)' : '(choose)'}</option>
            {columns.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        ) : null}
        <button type="submit">Draw chart</button>
      </form>
      <ErrorNote message={message} />
      {points && drawn ? (
        <svg role="img" aria-label={`${drawn.kind} of ${drawn.x}${drawn.y ? ` and ${drawn.y}` : ''}`} viewBox={`0 0 ${W} ${H}`} width={W} height={H} className="chart-svg">
          <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} stroke="currentColor" opacity={0.4} />
          <text x={4} y={PAD - 8} fontSize={11} fill="currentColor">
            {max.toLocaleString('en-US')}
          </text>
          {drawn.kind === 'line' ? (
            <polyline
              fill="none"
              stroke="var(--run)"
              strokeWidth={2}
              points={points.map((p, i) => `${PAD + step * i + step / 2},${yOf(p.value)}`).join(' ')}
            />
          ) : (
            points.map((p, i) => (
              <rect key={p.label + i} data-testid="chart-bar" x={PAD + step * i + 1} y={yOf(p.value)} width={Math.max(1, step - 2)} height={H - PAD - yOf(p.value)} fill="var(--transformer)">
                <title>{`${p.label}: ${p.value.toLocaleString('en-US')}`}</title>
              </rect>
            ))
          )}
          {points.length > 0 ? (
            <>
              <text x={PAD} y={H - 10} fontSize={11} fill="currentColor">
                {points[0]?.label}
              </text>
              <text x={W - PAD} y={H - 10} fontSize={11} fill="currentColor" textAnchor="end">
                {points[points.length - 1]?.label}
              </text>
            </>
          ) : null}
        </svg>
      ) : null}
    </div>
  );
}
