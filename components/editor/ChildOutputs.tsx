'use client';
import { useState } from 'react';
import { statusLabel } from '@/lib/ui/block-labels';
import { OutputView } from './OutputView';
import { useEditorState } from './editor-state';

/**
 * A fanned-out block's runs in the latest run (`<uuid>:<key>`): pick one to see its status, logs,
 * error and output. Outputs are asked of the kernel by the child's name (query_output).
 */
export function ChildOutputs({
  block,
  where = '',
  initialSize,
}: {
  block: string;
  /** Where one block's children show twice (the cell and the sidekick): ` (sidekick)`, added to labels and test ids. */
  where?: string;
  initialSize?: number;
}) {
  const children = useEditorState((s) => s.run.children[block]);
  // One string, so the selector's value is stable while nothing changed.
  const statuses = useEditorState((s) => (s.run.children[block] ?? []).map((c) => s.run.blocks[c]?.status ?? 'not_run').join(','));
  const [picked, setPicked] = useState<string | null>(null);
  const child = picked !== null && children?.includes(picked) ? picked : children?.[0];
  const view = useEditorState((s) => (child ? s.run.blocks[child] : undefined));
  const outputKey = useEditorState((s) => (child ? (s.outputKeys[child] ?? 0) : 0));
  if (!children || children.length === 0 || !child) return null;
  const statusOf = statuses.split(',');
  const status = view?.status ?? 'not_run';
  const error = view?.error;
  return (
    <div className="children" data-testid={`children-${block}${where}`}>
      <div className="output-bar">
        <label>
          Run of {block} ({children.length})
          <select aria-label={`Child run of ${block}${where}`} value={child} onChange={(e) => setPicked(e.target.value)}>
            {children.map((c, i) => (
              <option key={c} value={c}>
                {c} · {statusLabel(statusOf[i] ?? 'not_run')}
              </option>
            ))}
          </select>
        </label>
        <span className="status" data-status={status} data-testid={`child-status-${block}${where}`}>
          {statusLabel(status)}
        </span>
      </div>
      {view?.skipped ? <p className="muted skipped">{view.skipped}</p> : null}
      {view?.logs ? (
        <pre className="logs" aria-label={`Console output of ${child}`}>
          {view.logs}
        </pre>
      ) : null}
      {error ? (
        <pre className="error" role="alert" data-testid={`error-${child}${where}`}>
          {error.file ? `${error.file}${error.line ? `:${error.line}` : ''}: ` : ''}
          {error.message}
        </pre>
      ) : null}
      <OutputView key={child} block={child} preview={view?.preview} outputKey={outputKey} label={`${child}${where}`} initialSize={initialSize} />
    </div>
  );
}
