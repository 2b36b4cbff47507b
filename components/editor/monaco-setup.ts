'use client';
/**
 * Monaco from our own bundle (never a CDN): workers are bundled by Next from monaco-editor's files,
 * and @monaco-editor/react is told to use this instance. Imported only on the client (ssr: false).
 */
import { loader } from '@monaco-editor/react';
import * as monaco from 'monaco-editor';
import { z } from 'zod';

self.MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    if (label === 'typescript' || label === 'javascript') {
      return new Worker(new URL('monaco-editor/languages/features/typescript/ts.worker.js', import.meta.url), { type: 'module' });
    }
    if (label === 'json') {
      return new Worker(new URL('monaco-editor/languages/features/json/json.worker.js', import.meta.url), { type: 'module' });
    }
    return new Worker(new URL('monaco-editor/editor/editor.worker.js', import.meta.url), { type: 'module' });
  },
};

loader.config({ monaco });

const ts = monaco.typescript;
ts.typescriptDefaults.setCompilerOptions({
  target: ts.ScriptTarget.ESNext,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.NodeJs,
  strict: true,
  allowNonTsExtensions: true,
  noEmit: true,
  lib: ['es2023', 'dom'],
});
// Imports of project files and packages cannot be resolved in the browser: do not flag them.
ts.typescriptDefaults.setDiagnosticsOptions({ noSemanticValidation: false, noSyntaxValidation: false, diagnosticCodesToIgnore: [2307, 2792] });

const blockApi = z.object({ globals: z.string() });
let typesLoaded: Promise<void> | null = null;

/** Loads the block API (DataFrame, BlockContext, ...) as globals into the TypeScript service, once. */
export function loadBlockApiTypes(): Promise<void> {
  typesLoaded ??= fetch('/api/editor/block-api')
    .then((r) => r.json())
    .then((json: unknown) => {
      const parsed = blockApi.safeParse(json);
      if (parsed.success) ts.typescriptDefaults.addExtraLib(parsed.data.globals, 'file:///grimoire/block-api.d.ts');
    })
    .catch(() => {
      typesLoaded = null;
    });
  return typesLoaded;
}

let blockRows: { text: string; lib: monaco.IDisposable } | null = null;

/**
 * Declarations of the row shape of each block output seen (`DataFrame<'load'>`), replaced
 * whenever a block's output columns change, so intellisense follows the last run.
 */
export function setBlockRowsTypes(text: string): void {
  if (blockRows?.text === text) return;
  blockRows?.lib.dispose();
  blockRows = { text, lib: ts.typescriptDefaults.addExtraLib(text, 'file:///grimoire/block-rows.d.ts') };
}

export interface SqlContext {
  upstream: string[];
  columns: Record<string, { name: string; type: string }[]>;
}

/** Per editor model: the upstream tables and their columns offered by SQL completion. */
export const sqlContexts = new Map<string, SqlContext>();

const SQL_KEYWORDS = ['SELECT', 'FROM', 'WHERE', 'GROUP BY', 'ORDER BY', 'LIMIT', 'JOIN', 'LEFT JOIN', 'ON', 'AS', 'AND', 'OR', 'NOT', 'COUNT(*)', 'DISTINCT', 'CAST', 'WITH', 'UNION ALL', 'HAVING', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'COPY', 'TO'];

monaco.languages.registerCompletionItemProvider('sql', {
  triggerCharacters: ['.', ' ', '{'],
  provideCompletionItems(model, position) {
    const ctx = sqlContexts.get(model.uri.toString());
    const word = model.getWordUntilPosition(position);
    const range = { startLineNumber: position.lineNumber, endLineNumber: position.lineNumber, startColumn: word.startColumn, endColumn: word.endColumn };
    const K = monaco.languages.CompletionItemKind;
    const suggestions: monaco.languages.CompletionItem[] = [];
    ctx?.upstream.forEach((u, i) => {
      suggestions.push({ label: u, kind: K.Class, insertText: u, detail: `upstream table (df_${i + 1})`, range, sortText: `0${i}` });
      suggestions.push({ label: `{{ df_${i + 1} }}`, kind: K.Variable, insertText: `{{ df_${i + 1} }}`, detail: `output of ${u}`, range, sortText: `1${i}` });
      for (const c of ctx.columns[u] ?? []) {
        suggestions.push({ label: c.name, kind: K.Field, insertText: /^[a-z_][a-z0-9_]*$/.test(c.name) ? c.name : `"${c.name}"`, detail: `${c.type} · ${u}`, range, sortText: `2${c.name}` });
      }
    });
    for (const k of SQL_KEYWORDS) suggestions.push({ label: k, kind: K.Keyword, insertText: k, range, sortText: `9${k}` });
    return { suggestions };
  },
});

export { monaco };
