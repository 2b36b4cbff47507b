'use client';
import { type OutputPreview } from '@/lib/protocol/messages';

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function PreviewTable({ block, preview }: { block: string; preview: OutputPreview }) {
  return (
    <div>
      <p style={{ fontSize: 12, color: 'var(--muted)', margin: '4px 0' }} data-testid={`rowcount-${block}`}>
        {preview.rowCount.toLocaleString('en-US')} {preview.rowCount === 1 ? 'row' : 'rows'} × {preview.columns.length} {preview.columns.length === 1 ? 'column' : 'columns'}
      </p>
      {preview.columns.length > 0 ? (
        <table className="preview" aria-label={`Output of ${block}`}>
          <thead>
            <tr>
              {preview.columns.map((c) => (
                <th key={c.name} scope="col">
                  {c.name}
                  <small>{c.type}</small>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, i) => (
              <tr key={i}>
                {preview.columns.map((c) => (
                  <td key={c.name}>{cell(row[c.name])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
