'use client';
import { useEffect, useMemo, useState } from 'react';
import { blockRowsDeclaration } from '@/lib/block-types/block-rows-dts';
import { progressText } from '@/lib/ui/progress-text';
import { type EditorBlock } from '@/lib/protocol/editor-api';
import { OutputView } from './OutputView';
import { displayStatus, useEditorState } from './editor-state';
import { BLOCK_LANGUAGE_LABELS, BLOCK_TYPE_LABELS, statusLabel } from '@/lib/ui/block-labels';
import { BlockBadges } from './BlockBadges';
import { ChildOutputs } from './ChildOutputs';
import { LazyBlockEditor as BlockEditor } from './LazyBlockEditor';
import { MarkdownBody } from './MarkdownBody';
import { ConfirmRemove } from './ConfirmRemove';


function Elapsed({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(t);
  }, []);
  return <span data-testid="elapsed">{((now - since) / 1000).toFixed(1)} s</span>;
}

export function BlockCell({ block, index, next, focusToken }: { block: EditorBlock; index: number; next?: string; focusToken?: number }) {
  const readOnly = useEditorState((s) => s.readOnly);
  const file = useEditorState((s) => s.files[block.uuid]);
  const view = useEditorState((s) => s.run.blocks[block.uuid]);
  const status = useEditorState((s) => displayStatus(s, block.uuid));
  const connected = useEditorState((s) => s.run.connected);
  const selected = useEditorState((s) => s.selected === block.uuid);
  const collapsed = useEditorState((s) => s.collapsed[block.uuid] ?? false);
  const outputKey = useEditorState((s) => s.outputKeys[block.uuid] ?? 0);
  const blocks = useEditorState((s) => s.model?.blocks);
  const columns = useEditorState((s) => s.columns);
  const hasChildren = useEditorState((s) => (s.run.children[block.uuid]?.length ?? 0) > 0);
  // Callbacks that threw after this block's runs (its children's too), in the latest run.
  const callbackErrors = useEditorState((s) => Object.entries(s.run.callbackErrors).flatMap(([run, errors]) => (run === block.uuid || run.startsWith(`${block.uuid}:`) ? errors.map((e) => `${run}: ${e}`) : [])).join('\n'));
  const isNote = block.type === 'markdown';
  const total = blocks?.length ?? 0;
  const st = useEditorState.getState;
  const [renaming, setRenaming] = useState(false);
  const [newName, setNewName] = useState(block.uuid);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const rowTypes = useMemo(() => (block.language === 'typescript' ? blockRowsDeclaration(columns) : undefined), [block.language, columns]);
  const sql = useMemo(
    () => (block.language === 'sql' ? { upstream: block.upstream, columns: Object.fromEntries(block.upstream.map((u) => [u, columns[u] ?? []])) } : undefined),
    [block.language, block.upstream, columns],
  );

  // Autosave: two seconds after the last keystroke (Mage waits ten).
  const content = file?.content;
  useEffect(() => {
    if (!file || file.content === file.saved || file.conflict) return;
    const t = setTimeout(() => void st().save(block.uuid), 2000);
    return () => clearTimeout(t);
  }, [content, file, block.uuid, st]);

  const dirty = !!file && file.content !== file.saved;
  const error = view?.error;
  const errorLine = error && (!error.file || error.file === block.file) ? error.line : undefined;

  return (
    <section
      className={`block${selected ? ' selected' : ''}`}
      data-type={block.type}
      aria-label={`Block ${block.uuid}`}
      data-block={block.uuid}
      tabIndex={-1}
      onFocus={() => {
        if (!selected) st().select(block.uuid);
      }}
      onClick={() => {
        if (!selected) st().select(block.uuid);
      }}
    >
      <header>
        <button type="button" className="icon" aria-label={`${collapsed ? 'Expand' : 'Collapse'} block ${block.uuid}`} aria-expanded={!collapsed} onClick={() => st().toggleCollapsed(block.uuid)}>
          {collapsed ? '▸' : '▾'}
        </button>
        {renaming ? (
          <form
            className="inline"
            onSubmit={(e) => {
              e.preventDefault();
              void st()
                .saveAll()
                .then(() => st().edit([{ kind: 'rename_block', uuid: block.uuid, to: newName.trim() }]))
                .then((ok) => ok && setRenaming(false));
            }}
          >
            <input aria-label={`New name for ${block.uuid}`} value={newName} onChange={(e) => setNewName(e.target.value)} autoFocus />
            <button type="submit">Save name</button>
            <button type="button" onClick={() => setRenaming(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <span className="name">{block.uuid}</span>
        )}
        <span className="meta">
          {BLOCK_TYPE_LABELS[block.type]}
          {isNote ? '' : ` · ${BLOCK_LANGUAGE_LABELS[block.language]}`}
          {block.upstream.length > 0 ? ` · ← ${block.upstream.join(', ')}` : ''}
        </span>
        <BlockBadges block={block} />
        {dirty ? (
          <span className="unsaved" title="Unsaved changes" aria-label={`Unsaved changes in ${block.uuid}`} data-testid={`unsaved-${block.uuid}`}>
            ●
          </span>
        ) : null}
        {isNote ? null : (
          <span className="status" data-status={status} data-testid={`status-${block.uuid}`}>
            {statusLabel(status)}
            {status === 'running' && view?.startedAt ? (
              <>
                {' · '}
                <Elapsed since={view.startedAt} />
                {view.progress ? (
                  <>
                    {' · '}
                    <span data-testid={`progress-${block.uuid}`}>{progressText(view.progress)}</span>
                  </>
                ) : null}
              </>
            ) : view?.durationMs !== undefined && status !== 'running' ? (
              ` · ${(view.durationMs / 1000).toFixed(2)} s`
            ) : (
              ''
            )}
          </span>
        )}
        {/* A note is shown, never run. */}
        {isNote ? null : (
          <>
            <button type="button" aria-label={`Run block ${block.uuid}`} title="Run (Ctrl/Cmd+Enter)" onClick={() => void st().runBlock('run_block', block.uuid)} disabled={!connected}>
              ▶ Run
            </button>
            <button type="button" aria-label={`Run ${block.uuid} with upstream`} onClick={() => void st().runBlock('run_with_upstream', block.uuid)} disabled={!connected}>
              ⇡
            </button>
            <button type="button" aria-label={`Run ${block.uuid} and downstream`} onClick={() => void st().runBlock('run_downstream', block.uuid)} disabled={!connected}>
              ⇣
            </button>
            {/* configuration.cache: the cached output is reused unless asked otherwise. */}
            {block.configuration.cache !== undefined && block.configuration.cache !== false ? (
              <button type="button" aria-label={`Run ${block.uuid} ignoring cache`} title="Run ignoring cache: run it and save its new output" onClick={() => void st().runBlock('run_block', block.uuid, { ignoreCache: true })} disabled={!connected}>
                ↻ Run ignoring cache
              </button>
            ) : null}
          </>
        )}
        <button type="button" aria-label={`Save block ${block.uuid}`} title="Save (Ctrl/Cmd+S)" onClick={() => void st().save(block.uuid)} disabled={!dirty}>
          Save
        </button>
        <button type="button" aria-label={`Rename block ${block.uuid}`} onClick={() => { setNewName(block.uuid); setRenaming(true); }}>
          Rename
        </button>
        <button type="button" aria-label={`Move ${block.uuid} up`} disabled={index === 0} onClick={() => void st().edit([{ kind: 'move_block', uuid: block.uuid, index: index - 1 }])}>
          ↑
        </button>
        <button type="button" aria-label={`Move ${block.uuid} down`} disabled={index >= total - 1} onClick={() => void st().edit([{ kind: 'move_block', uuid: block.uuid, index: index + 1 }])}>
          ↓
        </button>
        <button type="button" aria-label={`Delete block ${block.uuid}`} onClick={() => setConfirmDelete(true)}>
          Delete
        </button>
      </header>
      {confirmDelete ? (
        <ConfirmRemove name={block.uuid} file={block.file} onRemove={() => st().edit([{ kind: 'remove_block', uuid: block.uuid }]).then(() => undefined)} onCancel={() => setConfirmDelete(false)} />
      ) : null}
      {file?.conflict ? (
        <div role="alert" className="conflict" data-testid={`conflict-${block.uuid}`}>
          Conflict: {file.conflict}
          <button type="button" onClick={() => void st().resolveConflict(block.uuid, 'theirs')}>
            Load theirs (discard mine)
          </button>
          <button type="button" onClick={() => void st().resolveConflict(block.uuid, 'mine')}>
            Overwrite with mine
          </button>
        </div>
      ) : null}
      {collapsed ? null : isNote ? (
        file?.loaded ? (
          <MarkdownBody
            uuid={block.uuid}
            content={file.content}
            readOnly={readOnly}
            focusToken={focusToken}
            onChange={(v) => st().setContent(block.uuid, v)}
            onSave={() => void st().save(block.uuid)}
            onLeave={() => document.querySelector<HTMLElement>(`[data-block="${block.uuid}"]`)?.focus()}
          />
        ) : (
          <div className="muted code">Loading {block.file}…</div>
        )
      ) : (
        <>
          {file?.loaded ? (
            <BlockEditor
              uuid={block.uuid}
              language={block.language}
              readOnly={readOnly}
              value={file.content}
              onChange={(v) => st().setContent(block.uuid, v)}
              onRun={() => void st().runBlock('run_block', block.uuid)}
              onRunNext={() => {
                void st().runBlock('run_block', block.uuid);
                if (next) {
                  st().select(next);
                  document.querySelector<HTMLElement>(`[data-block="${next}"]`)?.focus();
                } else {
                  st().setAdding({ index: index + 1, upstream: [block.uuid] });
                }
              }}
              onSave={() => void st().save(block.uuid)}
              onEscape={() => document.querySelector<HTMLElement>(`[data-block="${block.uuid}"]`)?.focus()}
              errorLine={errorLine}
              errorMessage={error?.message}
              sql={sql}
              rowTypes={rowTypes}
              focusToken={focusToken}
            />
          ) : (
            <div className="muted code">Loading {block.file}…</div>
          )}
          <div className="output">
            {view?.logs ? (
              <pre className="logs" aria-label={`Console output of ${block.uuid}`}>
                {view.logs}
              </pre>
            ) : null}
            {error ? (
              <pre className="error" role="alert" data-testid={`error-${block.uuid}`}>
                {error.file ? `${error.file}${error.line ? `:${error.line}` : ''}: ` : ''}
                {error.message}
              </pre>
            ) : null}
            {view?.skipped && status === 'condition_failed' ? (
              <p className="muted skipped" data-testid={`skipped-${block.uuid}`}>
                Skipped: {view.skipped}
              </p>
            ) : null}
            {callbackErrors ? (
              <pre className="error" data-testid={`callback-errors-${block.uuid}`}>
                Callbacks that failed (the block&apos;s status stands):{'\n'}
                {callbackErrors}
              </pre>
            ) : null}
            {/* A fanned-out block's own run has no output: its children have, one each. */}
            {hasChildren ? <ChildOutputs block={block.uuid} /> : null}
            {!hasChildren || view?.preview ? <OutputView block={block.uuid} preview={view?.preview} outputKey={outputKey} /> : null}
          </div>
        </>
      )}
    </section>
  );
}
