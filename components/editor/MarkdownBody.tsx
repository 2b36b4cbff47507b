'use client';
import { useEffect, useMemo, useState } from 'react';
import { renderMarkdown } from '@/lib/ui/markdown';
import { LazyBlockEditor } from './LazyBlockEditor';

/**
 * A markdown block's body: edited in Monaco while the cell has focus, shown rendered otherwise
 * (Mage's markdown blocks). An empty note opens in the editor, so there is something to click.
 */
export function MarkdownBody({
  uuid,
  content,
  readOnly,
  focusToken,
  onChange,
  onSave,
  onLeave,
}: {
  uuid: string;
  content: string;
  readOnly: boolean;
  focusToken?: number;
  onChange(value: string): void;
  onSave(): void;
  /** Back to the cell (Escape), as in a code block. */
  onLeave(): void;
}) {
  const [editing, setEditing] = useState(false);
  const [token, setToken] = useState<number | undefined>(undefined);
  // Enter on the selected cell (PipelineEditor) edits it, as it does a code block.
  useEffect(() => {
    if (!focusToken || readOnly) return;
    setEditing(true);
    setToken(focusToken);
  }, [focusToken, readOnly]);
  // The HTML is markdown-it's with html off (lib/ui/markdown.ts): tags in the text arrive escaped.
  const html = useMemo(() => renderMarkdown(content), [content]);
  const edit = () => {
    if (readOnly) return;
    setEditing(true);
    setToken(Date.now());
  };

  if (editing || (content.trim() === '' && !readOnly)) {
    return (
      <div
        // Typing into an empty note keeps the editor: the note is being edited, not just empty.
        onFocus={() => setEditing(true)}
        onBlur={(e) => {
          if (!(e.relatedTarget instanceof Node && e.currentTarget.contains(e.relatedTarget))) setEditing(false);
        }}
      >
        <LazyBlockEditor
          uuid={uuid}
          language="markdown"
          readOnly={readOnly}
          value={content}
          onChange={onChange}
          // A note never runs: Ctrl/Cmd+Enter and Shift+Enter show it rendered.
          onRun={() => setEditing(false)}
          onRunNext={() => setEditing(false)}
          onSave={onSave}
          onEscape={() => {
            setEditing(false);
            onLeave();
          }}
          focusToken={token}
        />
      </div>
    );
  }
  return (
    <div
      className="markdown"
      data-testid={`markdown-${uuid}`}
      role="article"
      aria-label={`Note ${uuid}`}
      title={readOnly ? undefined : 'Click to edit'}
      tabIndex={readOnly ? undefined : 0}
      onClick={(e) => {
        // A link opens (in a new tab); anywhere else edits.
        if (!(e.target instanceof Element && e.target.closest('a'))) edit();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter' && e.target === e.currentTarget) {
          e.preventDefault();
          e.stopPropagation();
          edit();
        }
      }}
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
