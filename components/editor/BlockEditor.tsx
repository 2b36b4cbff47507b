'use client';
import Editor, { type OnMount } from '@monaco-editor/react';
import { useEffect, useRef, useState } from 'react';
import { loadBlockApiTypes, monaco, setBlockRowsTypes, sqlContexts, type SqlContext } from './monaco-setup';
import { LANGUAGE_EXTENSIONS, type BlockLanguage } from '@/lib/pipeline/model';

export interface BlockEditorProps {
  uuid: string;
  language: BlockLanguage;
  value: string;
  onChange(value: string): void;
  onRun(): void;
  onRunNext(): void;
  onSave(): void;
  onEscape(): void;
  errorLine?: number;
  errorMessage?: string;
  /** A viewer's page: the code cannot be changed here. */
  readOnly?: boolean;
  sql?: SqlContext;
  /** Row types of the pipeline's block outputs (TypeScript blocks), see lib/block-types/block-rows-dts.ts. */
  rowTypes?: string;
  focusToken?: number;
}

const LINE = 19;

/** One block's code in Monaco; grows with its content, with Mage's shortcuts bound inside it. */
export default function BlockEditor(props: BlockEditorProps) {
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const decorations = useRef<monaco.editor.IEditorDecorationsCollection | null>(null);
  const handlers = useRef(props);
  handlers.current = props;
  const [height, setHeight] = useState(Math.min(30, Math.max(5, props.value.split('\n').length + 1)) * LINE);
  const path = `file:///blocks/${props.uuid}.${LANGUAGE_EXTENSIONS[props.language]}`;

  useEffect(() => {
    if (props.language === 'typescript') void loadBlockApiTypes();
  }, [props.language]);

  useEffect(() => {
    if (props.rowTypes !== undefined) setBlockRowsTypes(props.rowTypes);
  }, [props.rowTypes]);

  useEffect(() => {
    if (props.sql) sqlContexts.set(path, props.sql);
    return () => {
      sqlContexts.delete(path);
    };
  }, [path, props.sql]);

  useEffect(() => {
    const editor = editorRef.current;
    const model = editor?.getModel();
    if (!editor || !model) return;
    if (props.errorLine && props.errorLine <= model.getLineCount()) {
      const line = props.errorLine;
      decorations.current?.clear();
      decorations.current = editor.createDecorationsCollection([
        { range: new monaco.Range(line, 1, line, 1), options: { isWholeLine: true, className: 'error-line', glyphMarginClassName: 'error-glyph', hoverMessage: { value: props.errorMessage ?? '' } } },
      ]);
      monaco.editor.setModelMarkers(model, 'grimoire-run', [
        { severity: monaco.MarkerSeverity.Error, message: props.errorMessage ?? 'error', startLineNumber: line, endLineNumber: line, startColumn: 1, endColumn: model.getLineMaxColumn(line) },
      ]);
      editor.revealLineInCenterIfOutsideViewport(line);
    } else {
      decorations.current?.clear();
      monaco.editor.setModelMarkers(model, 'grimoire-run', []);
    }
  }, [props.errorLine, props.errorMessage]);

  useEffect(() => {
    if (props.focusToken) editorRef.current?.focus();
  }, [props.focusToken]);

  const onMount: OnMount = (editor) => {
    editorRef.current = editor;
    // Actions, not addCommand: addCommand keybindings are global, so with several editors on the
    // page the last one mounted would get every Ctrl+Enter.
    const K = monaco.KeyMod;
    const C = monaco.KeyCode;
    editor.addAction({ id: 'grimoire.run', label: 'Run block', keybindings: [K.CtrlCmd | C.Enter], run: () => handlers.current.onRun() });
    editor.addAction({ id: 'grimoire.runNext', label: 'Run block and go to the next', keybindings: [K.Shift | C.Enter], run: () => handlers.current.onRunNext() });
    editor.addAction({ id: 'grimoire.save', label: 'Save block', keybindings: [K.CtrlCmd | C.KeyS], run: () => handlers.current.onSave() });
    editor.addAction({
      id: 'grimoire.leave',
      label: 'Leave the editor',
      keybindings: [C.Escape],
      precondition: '!suggestWidgetVisible && !findWidgetVisible && !parameterHintsVisible',
      run: () => handlers.current.onEscape(),
    });
    editor.onDidContentSizeChange((e) => setHeight(Math.min(30 * LINE, Math.max(5 * LINE, e.contentHeight))));
    if (props.focusToken) editor.focus();
  };

  return (
    <div className="code" data-testid={`editor-${props.uuid}`} style={{ height }}>
      <Editor
        path={path}
        language={props.language}
        value={props.value}
        theme="vs-dark"
        onChange={(v) => handlers.current.onChange(v ?? '')}
        onMount={onMount}
        loading={<div className="muted">Loading editor…</div>}
        options={{
          minimap: { enabled: false },
          scrollBeyondLastLine: false,
          fontSize: 13,
          lineHeight: LINE,
          automaticLayout: true,
          glyphMargin: true,
          // Playwright and some IMEs lose spaces with EditContext (Monaco 0.53+).
          editContext: false,
          scrollbar: { alwaysConsumeMouseWheel: false },
          tabSize: 2,
          fixedOverflowWidgets: true,
          readOnly: props.readOnly ?? false,
        }}
      />
    </div>
  );
}
