'use client';
import { useEffect, useState } from 'react';
import { templatesFor } from '@/lib/pipeline/block-templates';
import { BLOCK_TYPES, TYPE_LANGUAGES, type BlockLanguage, type BlockType } from '@/lib/pipeline/model';
import { type ProjectFiles } from '@/lib/protocol/editor-api';
import { api } from './api';
import { useEditorState } from './editor-state';
import { BLOCK_LANGUAGE_LABELS, BLOCK_TYPE_LABELS } from '@/lib/ui/block-labels';
import { inDag, upstreamChoices } from '@/lib/ui/block-kinds';

const PREFIX: Record<BlockType, string> = { data_loader: 'load', transformer: 'transform', data_exporter: 'export', sensor: 'wait_for', markdown: 'notes', scratchpad: 'try' };

/** The first `<prefix>_<n>` no block of the pipeline has. */
function freeName(type: BlockType, used: ReadonlySet<string>): string {
  let n = 1;
  while (used.has(`${PREFIX[type]}_${n}`)) n += 1;
  return `${PREFIX[type]}_${n}`;
}

const BLANK = 'blank';

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
    // Only blocks of the DAG can be an upstream: a markdown block or a scratchpad above wires nothing.
    const dag = new Set(upstreamChoices(model?.blocks ?? []).map((b) => b.uuid));
    const wired = adding.upstream.filter((u) => dag.has(u));
    const upstreamType = model?.blocks.find((b) => b.uuid === wired[0])?.type;
    const t: BlockType = !upstreamType ? 'data_loader' : upstreamType === 'data_loader' || upstreamType === 'transformer' ? 'transformer' : upstreamType === 'sensor' ? 'data_loader' : 'data_exporter';
    setType(t);
    setLanguage(TYPE_LANGUAGES[t][0] ?? 'typescript');
    setSource('');
    setUpstream(wired.join(','));
    setName(freeName(t, new Set(model?.blocks.map((b) => b.uuid))));
  }, [adding, model, project]);

  if (!adding) return null;
  const languages = TYPE_LANGUAGES[type];
  const templates = templatesFor(type, language);
  const existing = files.filter((f) => f.type === type && f.language === language && !model?.blocks.some((b) => b.uuid === f.uuid));
  // The first template, or an empty file for a kind that has none.
  const chosen = source || templates[0]?.id || BLANK;
  const choices = upstreamChoices(model?.blocks ?? []);

  const changeType = (next: BlockType) => {
    const used = new Set(model?.blocks.map((b) => b.uuid));
    // A name the form made up follows the type; one the user typed stays.
    if (name === freeName(type, used)) setName(freeName(next, used));
    setType(next);
    if (!TYPE_LANGUAGES[next].includes(language)) setLanguage(TYPE_LANGUAGES[next][0] ?? 'typescript');
    setSource('');
    // A note has no inputs.
    if (next === 'markdown') setUpstream('');
  };

  const submit = async () => {
    const isExisting = chosen.startsWith('existing:');
    const uuid = isExisting ? chosen.slice('existing:'.length) : name.trim();
    const ok = await st().edit([
      {
        kind: 'add_block',
        uuid,
        type,
        language,
        upstream: upstream && type !== 'markdown' ? upstream.split(',') : [],
        index: adding.index,
        source: isExisting ? { existing: true } : chosen === BLANK ? { blank: true } : { template: chosen },
      },
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
        <select value={type} onChange={(e) => changeType(BLOCK_TYPES.find((t) => t === e.target.value) ?? 'data_loader')}>
          {BLOCK_TYPES.map((t) => (
            <option key={t} value={t}>
              {BLOCK_TYPE_LABELS[t]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Language
        <select
          value={language}
          onChange={(e) => {
            setLanguage(languages.find((l) => l === e.target.value) ?? language);
            setSource('');
          }}
        >
          {languages.map((l) => (
            <option key={l} value={l}>
              {BLOCK_LANGUAGE_LABELS[l]}
            </option>
          ))}
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
          <option value={BLANK}>Empty file</option>
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
      {type === 'markdown' ? null : (
        <label>
          Upstream
          <select aria-label="Upstream block" value={upstream} onChange={(e) => setUpstream(e.target.value)}>
            <option value="">(none)</option>
            {upstream.includes(',') ? <option value={upstream}>{upstream.split(',').join(', ')}</option> : null}
            {choices.map((b) => (
              <option key={b.uuid} value={b.uuid}>
                {b.uuid}
              </option>
            ))}
          </select>
        </label>
      )}
      {inDag(type) ? null : (
        <small className="muted">{type === 'markdown' ? 'A note: shown in the notebook, never run.' : 'Runs in the editor only: pipeline runs skip it.'}</small>
      )}
      <button type="submit">Create block</button>
      <button type="button" onClick={() => st().setAdding(null)}>
        Cancel
      </button>
    </form>
  );
}
