'use client';
import { AddOnsPanel } from './AddOnsPanel';
import { BlockSettings } from './BlockSettings';
import { ChildOutputs } from './ChildOutputs';
import { Graph } from './Graph';
import { OutputView } from './OutputView';
import { useEditorState } from './editor-state';
import { VariablesPanel } from './VariablesPanel';

export const SIDEKICK_TABS = [
  { id: 'tree', label: 'Tree' },
  { id: 'output', label: 'Output' },
  { id: 'variables', label: 'Variables' },
  { id: 'settings', label: 'Block settings' },
  { id: 'add_ons', label: 'Add-on blocks' },
] as const;
export type SidekickTab = (typeof SIDEKICK_TABS)[number]['id'];

/** The selected block's whole output, paged like the one under the block but bigger. */
function FullOutput() {
  const selected = useEditorState((s) => s.selected);
  const preview = useEditorState((s) => (s.selected ? s.run.blocks[s.selected]?.preview : undefined));
  const outputKey = useEditorState((s) => (s.selected ? (s.outputKeys[s.selected] ?? 0) : 0));
  const hasChildren = useEditorState((s) => (s.selected ? (s.run.children[s.selected]?.length ?? 0) > 0 : false));
  const isNote = useEditorState((s) => s.model?.blocks.find((b) => b.uuid === s.selected)?.type === 'markdown');
  if (!selected) return <p className="muted">Select a block to see its output.</p>;
  if (isNote) return <p className="muted">{selected} is a markdown note: it is shown, never run, so it has no output.</p>;
  // A fanned-out block's own run has no output: its children's are shown, one at a time.
  if (hasChildren) {
    return (
      <div className="panel full-output">
        <h3>{selected}</h3>
        <ChildOutputs block={selected} where=" (sidekick)" initialSize={50} />
      </div>
    );
  }
  return (
    <div className="panel full-output">
      <h3>{selected}</h3>
      <OutputView key={selected} block={selected} preview={preview} outputKey={outputKey} label={`${selected} (sidekick)`} initialSize={50} />
      {!preview ? <p className="muted">No output yet: run the block.</p> : null}
    </div>
  );
}

/** Mage's right-hand side: the dependency tree, the selected block's output, variables, block settings and add-on blocks. */
export function Sidekick({ tab, onTab }: { tab: SidekickTab; onTab(tab: SidekickTab): void }) {
  return (
    <aside className="sidekick" aria-label="Sidekick">
      <div role="tablist" aria-label="Sidekick panels" className="tabs sidekick-tabs">
        {SIDEKICK_TABS.map((t) => (
          <button key={t.id} type="button" role="tab" id={`sidekick-tab-${t.id}`} aria-selected={tab === t.id} aria-controls={`sidekick-panel-${t.id}`} onClick={() => onTab(t.id)}>
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`sidekick-panel-${tab}`} aria-labelledby={`sidekick-tab-${tab}`}>
        {tab === 'tree' ? <Graph /> : tab === 'output' ? <FullOutput /> : tab === 'variables' ? <VariablesPanel /> : tab === 'add_ons' ? <AddOnsPanel /> : <BlockSettings />}
      </div>
    </aside>
  );
}
