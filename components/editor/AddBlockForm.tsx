'use client';
import { useEffect, useState } from 'react';
import { templatesFor } from '@/lib/pipeline/block-templates';
import { BLOCK_LANGUAGES, BLOCK_TYPES, type BlockLanguage, type BlockType } from '@/lib/pipeline/model';
import { type ProjectFiles } from '@/lib/protocol/editor-api';
import { api } from './api';
import { useEditorState } from './editor-state';
import { BLOCK_LANGUAGE_LABELS, BLOCK_TYPE_LABELS } from '@/lib/ui/block-labels';

const PREFIX: Record<BlockType, string> = { data_loader: 'load', transformer: 'transform', data_exporter: 'export', sensor: 'wait_for', markdown: 'notes', scratchpad: 'try' };

/** Mage's "add block": type, language, a template or an existing block file, and a name. */
export function AddBlockForm() {
  const adding = useEditorState((s) => s.adding);
  const model = useEditorState((s) => s.model);
  const project = useEditorState((s) => s.project);
  const st = useEditorState.getState;
  const [type, setType] = useState<BlockType>('data_loader');
  const [language, setLanguage] = useState<BlockLanguage>('typescript');
  const [source, setSource] = useState<string>('');
  const [name, setName] = useState('');
  const [files, setFiles] = useState<ProjectFiles['files']>([]);
  /** Upstream uuids joined by commas (uuids never hold one); '' is no upstream. */
  const [upstream, setUpstream] = useState('');

  useEffect(() => {
    if (!adding) return;
    void api.files(project).then((r) => setFiles(r.files), () => setFiles([]));
    const upstreamType = model?.blocks.find((b) => b.uuid === adding.upstream[0])?.type;
    const t: BlockType = !upstreamType ? 'data_loader' : upstreamType === 'data_loader' ? 'transformer' : upstreamType === 'transformer' ? 'transformer' : 'data_exporter';
    setType(t);
    setSource('');
    setUpstream(adding.upstream.join(','));
    const used = new Set(model?.blocks.map((b) => b.uuid));
    let n = 1;
    while (used.has(`${PREFIX[t]}_${n}`)) n += 1;
    setName(`${PREFIX[t]}_${n}`);
  }, [adding, model, project]);

  if (!adding) return null;
  const templates = templatesFor(type, language);
  const existing = files.filter((f) => f.type === type && f.language === language && !model?.blocks.some((b) => b.uuid === f.uuid));
  const chosen = source || templates[0]?.id || '';

  const submit = async () => {
    const isExisting = chosen.startsWith('existing:');
    const uuid = isExisting ? chosen.slice('existing:'.length) : name.trim();
    const ok = await st().edit([
      { kind: 'add_block', uuid, type, language, upstream: upstream ? upstream.split(',') : [], index: adding.index, source: isExisting ? { existing: true } : { template: chosen } },
    ]);
    if (ok) {
      st().setAdding(null);
      st().select(uuid);
    }
  };

  return (
    <form
      className="add-block"
      aria-label="New block"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') st().setAdding(null);
        e.stopPropagation();
      }}
    >
      <label>
        Block type
        <select value={type} onChange={(e) => setType(BLOCK_TYPES.find((t) => t === e.target.value) ?? 'data_loader')}>
          {BLOCK_TYPES.map((t) => (
            <option key={t} value={t}>
              {BLOCK_TYPE_LABELS[t]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Language
        <select value={language} onChange={(e) => setLanguage(BLOCK_LANGUAGES.find((l) => l === e.target.value) ?? 'typescript')}>
          <option value="typescript">TypeScript</option>
          <option value="sql">SQL</option>
        </select>
      </label>
      <label>
        Template
        <select value={chosen} onChange={(e) => setSource(e.target.value)}>
          {templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.label}
            </option>
          ))}
          {existing.map((f) => (
            <option key={f.path} value={`existing:${f.uuid}`}>
              Existing file: {f.path}
            </option>
          ))}
        </select>
      </label>
      {chosen.startsWith('existing:') ? null : (
        <label>
          Block name
          <input value={name} onChange={(e) => setName(e.target.value)} pattern="[A-Za-z_][A-Za-z0-9_]*" required autoFocus />
        </label>
      )}
      <label>
        Upstream
        <select aria-label="Upstream block" value={upstream} onChange={(e) => setUpstream(e.target.value)}>
          <option value="">(none)</option>
          {adding.upstream.length > 1 ? <option value={adding.upstream.join(',')}>{adding.upstream.join(', ')}</option> : null}
          {(model?.blocks ?? []).map((b) => (
            <option key={b.uuid} value={b.uuid}>
              {b.uuid}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Create block</button>
      <button type="button" onClick={() => st().setAdding(null)}>
        Cancel
      </button>
    </form>
  );
}
