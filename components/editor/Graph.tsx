'use client';
import { Background, Controls, Handle, Position, ReactFlow, useReactFlow, type Connection, type Edge, type Node, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { memo, useEffect, useMemo, useState } from 'react';
import { z } from 'zod';
import { layoutBlocks } from '@/lib/ui/graph-layout';
import { displayStatus, useEditorState } from './editor-state';

type BlockNodeData = { uuid: string; type: string; language: string; status: string; selected: boolean };
type BlockNode = Node<BlockNodeData, 'block'>;

const BlockNodeView = memo(function BlockNodeView({ data }: NodeProps<BlockNode>) {
  return (
    <div className={`graph-node${data.selected ? ' selected' : ''}`} data-type={data.type} data-testid={`node-${data.uuid}`}>
      <Handle type="target" position={Position.Top} aria-label={`Upstream handle of ${data.uuid}`} />
      <div className="graph-node-name">{data.uuid}</div>
      <span className="status" data-status={data.status} data-testid={`node-status-${data.uuid}`}>
        {data.status.replace('_', ' ')}
      </span>
      <Handle type="source" position={Position.Bottom} aria-label={`Downstream handle of ${data.uuid}`} />
    </div>
  );
});

const nodeTypes = { block: BlockNodeView };

/** After blocks or edges change, the new layout is fitted into the panel so every node stays reachable. */
function FitOnChange({ layoutKey }: { layoutKey: string }) {
  const flow = useReactFlow();
  useEffect(() => {
    const t = setTimeout(() => void flow.fitView({ padding: 0.2, duration: 0 }), 50);
    return () => clearTimeout(t);
  }, [flow, layoutKey]);
  return null;
}

/**
 * The dependency graph: the same model as the notebook, drawn by React Flow. Dragging from a
 * block's bottom handle to another's top handle adds an upstream edge; a selected edge can be
 * deleted. The server refuses an edge that would close a cycle and says why.
 */
export function Graph() {
  const model = useEditorState((s) => s.model);
  const selected = useEditorState((s) => s.selected);
  // A string, so the selector's result is stable between renders when nothing changed.
  const statusKey = useEditorState((s) => JSON.stringify(Object.fromEntries((s.model?.blocks ?? []).map((b) => [b.uuid, displayStatus(s, b.uuid)]))));
  const statuses = useMemo(() => z.record(z.string(), z.string()).parse(JSON.parse(statusKey)), [statusKey]);
  const st = useEditorState.getState;
  const [edgeSelected, setEdgeSelected] = useState<string | null>(null);

  const blocks = model?.blocks;
  const positions = useMemo(() => layoutBlocks(blocks ?? []), [blocks]);
  const nodes: BlockNode[] = useMemo(
    () =>
      (blocks ?? []).map((b) => ({
        id: b.uuid,
        type: 'block',
        position: positions.get(b.uuid) ?? { x: 0, y: 0 },
        data: { uuid: b.uuid, type: b.type, language: b.language, status: statuses[b.uuid] ?? 'not_run', selected: selected === b.uuid },
        ariaLabel: `Graph node ${b.uuid}`,
      })),
    [blocks, positions, statuses, selected],
  );
  const edges: Edge[] = useMemo(
    () =>
      (blocks ?? []).flatMap((b) =>
        b.upstream.map((u) => ({
          id: `${u}->${b.uuid}`,
          source: u,
          target: b.uuid,
          selected: edgeSelected === `${u}->${b.uuid}`,
          ariaLabel: `Edge from ${u} to ${b.uuid}`,
          data: { from: u, to: b.uuid },
        })),
      ),
    [blocks, edgeSelected],
  );

  const removeEdge = (id: string) => {
    const [from, to] = id.split('->');
    if (from && to) void st().edit([{ kind: 'remove_edge', from, to }]);
    setEdgeSelected(null);
  };

  return (
    <div className="graph" aria-label="Dependency graph" role="region">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.2 }}
        nodesDraggable={false}
        minZoom={0.3}
        deleteKeyCode={['Backspace', 'Delete']}
        onConnect={(c: Connection) => {
          if (c.source && c.target) void st().edit([{ kind: 'add_edge', from: c.source, to: c.target }]);
        }}
        onEdgeClick={(_e, edge) => setEdgeSelected(edge.id)}
        onEdgesDelete={(deleted) => {
          for (const e of deleted) removeEdge(e.id);
        }}
        onPaneClick={() => setEdgeSelected(null)}
        onNodeClick={(_e, node) => {
          st().select(node.id);
          document.querySelector(`[data-block="${node.id}"]`)?.scrollIntoView({ block: 'nearest' });
        }}
        proOptions={{ hideAttribution: true }}
      >
        <FitOnChange layoutKey={(blocks ?? []).map((b) => `${b.uuid}<${b.upstream.join(',')}`).join(';')} />
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
      {edgeSelected ? (
        <div className="graph-edge-bar">
          <span>{edgeSelected.replace('->', ' → ')}</span>
          <button type="button" onClick={() => removeEdge(edgeSelected)}>
            Delete edge
          </button>
        </div>
      ) : null}
    </div>
  );
}
