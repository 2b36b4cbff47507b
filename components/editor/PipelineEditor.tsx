'use client';
import { useEffect, useRef, useState } from 'react';
import { formatIssue } from '@/lib/pipeline/issues';
import { AddBlockForm } from './AddBlockForm';
import { BlockCell } from './BlockCell';
import { FileBrowser } from './FileBrowser';
import { carriesBlockFile, dropIndex, readDroppedFile } from './file-drop';
import { Sidekick, type SidekickTab } from './Sidekick';
import { useEditorState } from './editor-state';
import { upstreamBelow } from '@/lib/ui/block-kinds';

const DOUBLE_KEY_MS = 600;

function typingInto(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return !!target.closest('input, textarea, select, [contenteditable="true"], .monaco-editor, form');
}

/** The pipeline editor: file browser, block notebook, and the dependency graph, over one store. */
export function PipelineEditor({ project, pipeline }: { project: string; pipeline: string }) {
  const model = useEditorState((s) => s.model);
  const connected = useEditorState((s) => s.run.connected);
  const kernel = useEditorState((s) => s.run.kernel);
  const notice = useEditorState((s) => s.notice);
  const readOnly = useEditorState((s) => s.readOnly);
  const selected = useEditorState((s) => s.selected);
  const adding = useEditorState((s) => s.adding);
  const st = useEditorState.getState;
  const [focus, setFocus] = useState<{ block: string; token: number } | null>(null);
  const [sidekick, setSidekick] = useState<SidekickTab>('tree');
  /** Where a block file dragged from the file browser would land (index among the cells). */
  const [dropAt, setDropAt] = useState<number | null>(null);
  const notebook = useRef<HTMLDivElement>(null);
  const cells = () => [...(notebook.current?.querySelectorAll('section[data-block]') ?? [])];
  const lastKey = useRef<{ key: string; at: number } | null>(null);

  useEffect(() => st().init(project, pipeline), [project, pipeline, st]);

  // Mage's notebook shortcuts, outside the code editor: A/B add above/below, D D delete,
  // I I interrupt, 0 0 restart, arrows move the selection, Enter edits the selected block.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = st();
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
        e.preventDefault();
        void s.saveAll();
        return;
      }
      if (typingInto(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      const blocks = s.model?.blocks ?? [];
      const index = blocks.findIndex((b) => b.uuid === s.selected);
      const twice = (k: string) => {
        const hit = lastKey.current?.key === k && Date.now() - lastKey.current.at < DOUBLE_KEY_MS;
        lastKey.current = hit ? null : { key: k, at: Date.now() };
        return hit;
      };
      const key = e.key.toLowerCase();
      const current = blocks[index];
      switch (key) {
        case 'a':
        case 'b': {
          e.preventDefault();
          if (key === 'a') s.setAdding({ index: Math.max(0, index), upstream: current?.upstream ?? [] });
          else s.setAdding({ index: index + 1, upstream: current ? [current.uuid] : [] });
          return;
        }
        case 'd':
          if (twice('d') && current) void s.edit([{ kind: 'remove_block', uuid: current.uuid }]);
          return;
        case 'i':
          if (twice('i')) s.interrupt();
          return;
        case '0':
          if (twice('0')) s.restart();
          return;
        case 'arrowup':
        case 'arrowdown': {
          const next = blocks[key === 'arrowup' ? Math.max(0, index - 1) : Math.min(blocks.length - 1, index + 1)];
          if (next) {
            e.preventDefault();
            s.select(next.uuid);
            document.querySelector<HTMLElement>(`[data-block="${next.uuid}"]`)?.focus();
          }
          return;
        }
        case 'enter':
          if (current && !(e.target instanceof HTMLButtonElement)) {
            e.preventDefault();
            setFocus({ block: current.uuid, token: Date.now() });
          }
          return;
        default:
          return;
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [st]);

  const blocks = model?.blocks ?? [];
  return (
    // The output and settings panels need room: the sidekick widens for them.
    <div className={`ide${sidekick === 'tree' ? '' : ' sidekick-wide'}`}>
      <FileBrowser />
      <div
        className="notebook"
        ref={notebook}
        onDragOver={(e) => {
          if (!carriesBlockFile(e.dataTransfer)) return;
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          setDropAt(dropIndex(cells(), e.clientY));
        }}
        onDragLeave={(e) => {
          if (!(e.relatedTarget instanceof Node && e.currentTarget.contains(e.relatedTarget))) setDropAt(null);
        }}
        onDrop={(e) => {
          const file = readDroppedFile(e.dataTransfer);
          setDropAt(null);
          if (!file) return;
          e.preventDefault();
          const index = dropIndex(cells(), e.clientY);
          const above = blocks[index - 1];
          if (blocks.some((b) => b.uuid === file.uuid)) {
            st().setNotice(`${file.uuid} is already in this pipeline`);
            return;
          }
          void st()
            .edit([{ kind: 'add_block', uuid: file.uuid, type: file.type, language: file.language, index, upstream: upstreamBelow(file.type, above), source: { existing: true } }])
            .then((ok) => ok && st().select(file.uuid));
        }}
      >
        <div className="toolbar" role="toolbar" aria-label="Pipeline">
          <button type="button" onClick={() => void st().runPipeline()} disabled={!connected || blocks.length === 0}>
            Run pipeline
          </button>
          <button type="button" onClick={() => st().interrupt()} disabled={!connected} title="Interrupt (I I)">
            Interrupt
          </button>
          <button type="button" onClick={() => st().restart()} disabled={!connected} title="Restart kernel (0 0)">
            Restart kernel
          </button>
          <button
            type="button"
            onClick={() => {
              const i = blocks.findIndex((b) => b.uuid === selected);
              const at = i < 0 ? blocks.length : i + 1;
              const up = blocks[at - 1];
              st().setAdding({ index: at, upstream: up ? [up.uuid] : [] });
            }}
            disabled={!model}
            title="Add block (B below the selected block, A above)"
          >
            Add block
          </button>
          <span className="status" data-testid="connection">
            {connected ? `kernel ${kernel === 'dead' ? 'not started' : kernel}` : 'connecting…'}
          </span>
        </div>
        {readOnly ? (
          <p className="muted" data-testid="read-only">
            Read-only: you are a viewer. Running blocks and editing need the editor role.
          </p>
        ) : null}
        {notice ? (
          <p role="alert" className="error notice">
            {notice}
            <button type="button" aria-label="Dismiss message" onClick={() => st().setNotice(null)}>
              ×
            </button>
          </p>
        ) : null}
        {model && model.issues.length > 0 ? (
          <section aria-label="Pipeline problems" className="issues">
            <p>This pipeline cannot run until these are fixed:</p>
            <ul>
              {model.issues.map((i) => (
                <li key={formatIssue(i)}>{formatIssue(i)}</li>
              ))}
            </ul>
          </section>
        ) : null}
        {!model ? <p className="muted">Loading pipeline…</p> : null}
        {model && blocks.length === 0 && !adding ? <p className="muted">No blocks yet: add a data loader to start.</p> : null}
        {blocks.map((b, i) => (
          <div key={b.uuid}>
            {dropAt === i ? <div className="drop-line" data-testid="drop-indicator" /> : null}
            {adding && adding.index === i ? <AddBlockForm /> : null}
            <BlockCell block={b} index={i} next={blocks[i + 1]?.uuid} focusToken={focus?.block === b.uuid ? focus.token : undefined} />
          </div>
        ))}
        {dropAt !== null && dropAt >= blocks.length ? <div className="drop-line" data-testid="drop-indicator" /> : null}
        {adding && adding.index >= blocks.length ? <AddBlockForm /> : null}
      </div>
      <Sidekick tab={sidekick} onTab={setSidekick} />
    </div>
  );
}
