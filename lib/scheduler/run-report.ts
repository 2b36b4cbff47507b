import { type z } from 'zod';
import { notFound } from '../errors';
import { type runChildrenQuerySchema, type runReportQuerySchema } from '../protocol/runs-api';
import { loadPipeline, projectDir } from '../project/load';
import { blockOfRun, blockRunViews, CALLBACK_LINE_PREFIX, countChildren, POKE_LINE_PATTERN, type BlockRunView } from '../runs/block-run-views';
import { startedByLabel } from '../runs/started-by';
import { type ChildCounts } from '../store/run-page-reads';
import { type RunDetail } from '../store/run-repository';
import { type AttemptRow, type BlockRunRow, type RunEventRow } from '../store/types';
import { slaMissed, userNamesOf } from './service';
import { orchestration } from './slot';

/**
 * The run page's reads (GET /api/runs/:id and /children): a run with its block runs as views,
 * and a dynamic block's children a page at a time, so 1,000 children never load at once.
 */

/** One run as its page shows it (GET /api/runs/:id): the stored detail, its trigger, SLA and graph. */
export interface RunReport extends Omit<RunDetail, 'blocks'> {
  /** Every block run, or (children: summary) the run's own with their children counted. */
  blocks: BlockRunView[];
  trigger_name: string | null;
  /** Who started it, as shown (lib/runs/started-by.ts); null for a schedule or a backfill. */
  started_by_name: string | null;
  sla_missed: boolean;
  /** Why a waiting run does not start, when no worker could take it (its queue has none alive); else null. */
  waiting_for: string | null;
  /** The pipeline's edges and block types as the file says now (for the graph); empty when it cannot be read. */
  graph: { uuid: string; type: string; upstream: string[] }[];
}

/** What the run page needs of the pipeline as its file says now; empty when it cannot be read. */
interface PipelineShape {
  graph: RunReport['graph'];
  sensors: ReadonlySet<string>;
  /** Blocks with callbacks attached. */
  withCallbacks: ReadonlySet<string>;
}

async function shapeOf(project: string, pipeline: string): Promise<PipelineShape> {
  try {
    const dir = await projectDir(orchestration().projectsDir, project);
    const { pipeline: p } = await loadPipeline(dir, pipeline);
    return {
      graph: p.blocks.map((b) => ({ uuid: b.uuid, type: b.type, upstream: b.upstream })),
      sensors: new Set(p.blocks.filter((b) => b.type === 'sensor').map((b) => b.uuid)),
      withCallbacks: new Set(p.callbacks.flatMap((c) => c.upstream)),
    };
  } catch {
    return { graph: [], sensors: new Set(), withCallbacks: new Set() };
  }
}

/** The views of `blocks` (lib/runs/block-run-views.ts), with the sensor and callback lines of their logs. */
async function viewsOf(runId: string, blocks: readonly BlockRunRow[], events: readonly RunEventRow[], children: readonly ChildCounts[], shape: PipelineShape): Promise<BlockRunView[]> {
  const reads = orchestration().store.runPages;
  const names = (of: ReadonlySet<string>) => blocks.filter((b) => of.has(blockOfRun(b.block_uuid))).map((b) => b.block_uuid);
  const [pokes, callbackLines] = await Promise.all([
    reads.lastLines(runId, names(shape.sensors), 'stdout', POKE_LINE_PATTERN),
    reads.linesStarting(runId, names(shape.withCallbacks), 'system', CALLBACK_LINE_PREFIX),
  ]);
  return blockRunViews(blocks, { events, children, pokes, callbackLines });
}

/** The report of run `id`; not_found when there is no such run. */
export async function getRunReport(id: string, options: z.infer<typeof runReportQuerySchema> = { children: 'all' }): Promise<RunReport> {
  const o = orchestration();
  const run = await o.store.runs.get(id);
  if (!run) throw notFound(`run ${id} not found`);
  const [trigger, names, shape, read] = await Promise.all([
    run.trigger_id ? o.store.triggers.getById(run.trigger_id) : null,
    userNamesOf(o.store.pool, [run.started_by]),
    shapeOf(run.project, run.pipeline),
    options.children === 'summary' ? o.store.runPages.overview(id) : o.store.runs.detail(id).then((d) => (d ? { ...d, children: countChildren(d.blocks) } : null)),
  ]);
  if (!read) throw notFound(`run ${id} not found`);
  const served = run.status === 'initial' ? await o.store.workers.servedQueues() : null;
  return {
    run,
    blocks: await viewsOf(id, read.blocks, read.events, read.children, shape),
    attempts: read.attempts,
    events: read.events,
    trigger_name: trigger?.name ?? null,
    started_by_name: startedByLabel(run.started_by, names),
    sla_missed: slaMissed(run, trigger, o.clock.now()),
    waiting_for: served && !served.has(run.queue) ? `waiting for a worker on queue ${run.queue}: none is running (start one with grimoire worker --queue ${run.queue})` : null,
    graph: shape.graph,
  };
}

/** One page of the children of block `block` of run `id` (GET /api/runs/:id/children), with their attempts and transitions. */
export async function getRunChildren(id: string, query: z.infer<typeof runChildrenQuerySchema>): Promise<{ block: string; total: number; offset: number; limit: number; children: BlockRunView[]; attempts: AttemptRow[]; events: RunEventRow[] }> {
  const o = orchestration();
  const run = await o.store.runs.get(id);
  if (!run) throw notFound(`run ${id} not found`);
  const [page, shape] = await Promise.all([o.store.runPages.children(id, query.block, query), shapeOf(run.project, run.pipeline)]);
  return {
    block: query.block,
    total: page.total,
    offset: query.offset,
    limit: query.limit,
    children: await viewsOf(id, page.blocks, page.events, [], shape),
    attempts: page.attempts,
    events: page.events,
  };
}
