'use client';
import { type EditorBlock } from '@/lib/protocol/editor-api';
import { attachedAddOns } from '@/lib/ui/block-graph';
import { useEditorState } from './editor-state';

/** What a block's kind and configuration change about how it runs, named beside its name. */
export function BlockBadges({ block }: { block: EditorBlock }) {
  // One string, so the selector's value is stable while nothing changed.
  const addOnKey = useEditorState((s) => (s.model ? attachedAddOns(block.uuid, s.model).map((a) => `${a.kind}:${a.uuid}`).join(',') : ''));
  const addOns = addOnKey ? addOnKey.split(',').map((k) => ({ kind: k.slice(0, k.indexOf(':')), uuid: k.slice(k.indexOf(':') + 1) })) : [];
  const c = block.configuration;
  const seconds = (v: unknown, fallback: string) => (typeof v === 'number' && v > 0 ? `${v} s` : fallback);
  return (
    <span className="badges">
      {block.type === 'scratchpad' ? (
        <span className="badge editor-only" data-testid={`badge-scratchpad-${block.uuid}`} title="Pipeline runs skip it; run it here">
          runs in the editor only
        </span>
      ) : null}
      {block.type === 'sensor' ? (
        <span className="badge" title="configuration.poke_interval and configuration.timeout">
          pokes every {seconds(c.poke_interval, '60 s')}
          {typeof c.timeout === 'number' ? `, up to ${seconds(c.timeout, '')}` : ''}
        </span>
      ) : null}
      {c.dynamic === true ? (
        <span className="badge dynamic" data-testid={`badge-dynamic-${block.uuid}`} title="Each row of its output runs the downstream blocks once">
          dynamic
        </span>
      ) : null}
      {c.reduce_output === true ? (
        <span className="badge" title="Downstream blocks get all its children's outputs as one">
          reduce output
        </span>
      ) : null}
      {addOns.map((a) => (
        <span key={`${a.kind}:${a.uuid}`} className={`badge add-on ${a.kind}`} data-testid={`badge-${a.kind}-${block.uuid}-${a.uuid}`} title={a.kind === 'conditional' ? 'Runs before the block; false skips it' : 'Runs after the block ends'}>
          {a.kind} {a.uuid}
        </span>
      ))}
    </span>
  );
}
