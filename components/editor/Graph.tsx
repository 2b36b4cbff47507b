'use client';
import { Background, Controls, Handle, Position, ReactFlow, useReactFlow, type Connection, type Edge, type Node, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { memo, useEffect, useMemo, useState } from 'react';
import { z } from 'zod';
import { attachedAddOns, fanSummary, type AttachedAddOn } from '@/lib/ui/block-graph';
import { BLOCK_TYPE_LABELS, statusLabel } from '@/lib/ui/block-labels';
import { inDag } from '@/lib/ui/block-kinds';
import { layoutBlocks, NODE_HEIGHT } from '@/lib/ui/graph-layout';
import { displayStatus, useEditorState } from './editor-state';

type BlockNodeData = {
  uuid: string;
  type: string;
  language: string;
  status: string;
  selected: boolean;
  dynamic: boolean;
  addOns: AttachedAddOn[];
  /** Children in the latest run (a stacked node): `×3 · 3 completed`; null when it ran once. */
  fan: string | null;
};
type BlockNode = Node<BlockNodeData, 'block'>;

/** What a node shows of the latest run, by block: its status, and its children's summed up. */
const runViewSchema = z.record(z.string(), z.object({ status: z.string(), fan: z.string().nullable() }));

/** A node with badges or a fan-out line is taller: the layout keeps its neighbours clear of it. */
const nodeHeight = (badges: number, fan: boolean) => NODE_HEIGHT + (badges > 0 ? 18 * Math.ceil(badges / 2) : 0) + (fan ? 18 : 0);

const BlockNodeView = memo(function BlockNodeView({ data }: NodeProps<BlockNode>) {
  const badges = (data.dynamic ? 1 : 0) + data.addOns.length;
  return (
    <div
      className={`graph-node${data.selected ? ' selected' : ''}${data.fan ? ' stacked' : ''}`}
      data-type={data.type}
      data-status={data.status}
      data-testid={`node-${data.uuid}`}
    >
      <Handle type="target" position={Position.Top} aria-label={`Upstream handle of ${data.uuid}`} />
      <div className="graph-node-name">{data.uuid}</div>
      <span className="status" data-status={data.status} data-testid={`node-status-${data.uuid}`}>
        {statusLabel(data.status)}
      </span>
      {data.fan ? (
        <div className="graph-node-fan" data-testid={`node-fan-${data.uuid}`} title="Runs of this block in the latest run, one per item">
          {data.fan}
        </div>
      ) : null}
      {badges > 0 ? (
        <div className="graph-node-badges">
          {data.dynamic ? (
            <span className="badge dynamic" data-testid={`node-dynamic-${data.uuid}`} title="Each row of its output runs the downstream blocks once">
              dynamic
            </span>
          ) : null}
          {data.addOns.map((a) => (
            <span key={`${a.kind}:${a.uuid}`} className={`badge add-on ${a.kind}`} data-testid={`node-${a.kind}-${data.uuid}-${a.uuid}`} title={`${a.kind} ${a.uuid}`}>
              {a.kind === 'conditional' ? 'if' : 'cb'} {a.uuid}
            </span>
          ))}
        </div>
      ) : null}
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
  const runKey = useEditorState((s) =>
    JSON.stringify(
      Object.fromEntries(
        (s.model?.blocks ?? []).map((b) => {
          const children = s.run.children[b.uuid] ?? [];
          return [b.uuid, { status: displayStatus(s, b.uuid), fan: children.length > 0 ? fanSummary(children, (c) => s.run.blocks[c]?.status ?? 'initial') : null }];
        }),
      ),
    ),
  );
  const runView = useMemo(() => runViewSchema.parse(JSON.parse(runKey)), [runKey]);
  const st = useEditorState.getState;
  const [edgeSelected, setEdgeSelected] = useState<string | null>(null);

  // Markdown blocks and scratchpads are never part of a pipeline run: they are listed under the graph, not drawn in it.
  const blocks = useMemo(() => model?.blocks.filter((b) => inDag(b.type)), [model?.blocks]);
  const outside = (model?.blocks ?? []).filter((b) => !inDag(b.type));
  const addOnsOf = useMemo(() => new Map((blocks ?? []).map((b) => [b.uuid, model ? attachedAddOns(b.uuid, model) : []])), [blocks, model]);
  const fanned = Object.entries(runView).flatMap(([uuid, v]) => (v.fan ? [uuid] : [])).join(',');
  const positions = useMemo(() => {
    const stacked = new Set(fanned.split(','));
    return layoutBlocks((blocks ?? []).map((b) => ({ ...b, height: nodeHeight((b.configuration.dynamic === true ? 1 : 0) + (addOnsOf.get(b.uuid)?.length ?? 0), stacked.has(b.uuid)) })));
  }, [blocks, addOnsOf, fanned]);
  const nodes: BlockNode[] = useMemo(
    () =>
      (blocks ?? []).map((b) => ({
        id: b.uuid,
        type: 'block',
        position: positions.get(b.uuid) ?? { x: 0, y: 0 },
        data: {
          uuid: b.uuid,
          type: b.type,
          language: b.language,
          status: runView[b.uuid]?.status ?? 'not_run',
          selected: selected === b.uuid,
          dynamic: b.configuration.dynamic === true,
          addOns: addOnsOf.get(b.uuid) ?? [],
          fan: runView[b.uuid]?.fan ?? null,
        },
        ariaLabel: `Graph node ${b.uuid}`,
      })),
    [blocks, positions, runView, selected, addOnsOf],
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
      {outside.length > 0 ? (
        <div className="graph-outside" data-testid="graph-outside">
          Not in the DAG (pipeline runs skip them):{' '}
          {outside.map((b, i) => (
            <span key={b.uuid}>
              {i > 0 ? ', ' : ''}
              <button
                type="button"
                className="link"
                onClick={() => {
                  st().select(b.uuid);
                  document.querySelector(`[data-block="${b.uuid}"]`)?.scrollIntoView({ block: 'nearest' });
                }}
              >
                {b.uuid}
              </button>{' '}
              <span className="muted">({BLOCK_TYPE_LABELS[b.type].toLowerCase()})</span>
            </span>
          ))}
        </div>
      ) : null}
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
