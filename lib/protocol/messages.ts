/**
 * The wire protocol: every socket.io message between browser and server, as zod schemas with the
 * TypeScript types inferred from them. Both sides validate on arrival and handle the unions in one
 * exhaustive switch each. Stored or shown strings (statuses) are Mage's and never change meaning.
 */
import { z } from 'zod';
import { FOLDER_NAME_PATTERN, IDENTIFIER_PATTERN } from '../pipeline/model';
import { variablesSchema } from './json';
import { outputQuerySchema, outputResultSchema } from './output-query';
import { attemptFinishedEvent, blockErrorEvent, blockProgressEvent, blockRunsAddedEvent, blockStatusEvent, callbackEvent, logEvent, outputEvent, runStatusEvent } from './run-events';

const name = z.string().min(1).max(200);

const pipelineRef = { project: name, pipeline: name };

/**
 * What a browser may name: a project and a pipeline are folder names, a block a block uuid, so a
 * message can never carry a path (`../x`) to anything behind them.
 */
const folderName = z.string().min(1).max(100).regex(FOLDER_NAME_PATTERN, 'a project or pipeline name is letters, digits, _ . - (no slashes)');
const blockName = z.string().min(1).max(100).regex(IDENTIFIER_PATTERN, 'a block name is letters, digits and _');
/**
 * A block, or a run of a dynamic block's child: `<uuid>:<key>[:<key>...]` with keys of letters,
 * digits, _ and - (ITEM_KEY_PATTERN in lib/run/fan-out.ts). Never a dot or a slash, so the output
 * name made of it (`outputName`, ':' -> '.') is still no path.
 */
export const BLOCK_RUN_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z0-9_-]{1,100}){0,8}$/;
const blockRunName = z.string().min(1).max(500).regex(BLOCK_RUN_NAME_PATTERN, 'a block run is a block name, or <block>:<key> for a dynamic child');
const clientRef = { project: folderName, pipeline: folderName };

// ---- browser -> server -------------------------------------------------------------------------
export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), ...clientRef }),
  z.object({ type: z.literal('run_block'), ...clientRef, block: blockName, variables: variablesSchema.optional(), ignoreCache: z.boolean().optional() }),
  z.object({ type: z.literal('run_with_upstream'), ...clientRef, block: blockName, variables: variablesSchema.optional(), ignoreCache: z.boolean().optional() }),
  z.object({ type: z.literal('run_downstream'), ...clientRef, block: blockName, variables: variablesSchema.optional(), ignoreCache: z.boolean().optional() }),
  /** `ignoreCache`: cached blocks (configuration.cache) run anyway and save their new output ("run ignoring cache"). */
  z.object({ type: z.literal('run_pipeline'), ...clientRef, variables: variablesSchema.optional(), ignoreCache: z.boolean().optional() }),
  z.object({ type: z.literal('interrupt'), ...clientRef }),
  z.object({ type: z.literal('restart'), ...clientRef }),
  /** A page or chart of a block's (or a dynamic child's) whole output; answered to the sender only, with its requestId. */
  z.object({ type: z.literal('query_output'), ...clientRef, block: blockRunName, requestId: z.string().min(1).max(100), query: outputQuerySchema }),
  /** Follow one stored run (run page), or the runs of a pipeline (runs list): answered by run_changed. */
  z.object({ type: z.literal('watch_run'), runId: name }),
  z.object({ type: z.literal('watch_runs'), ...clientRef }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

// ---- server -> browser -------------------------------------------------------------------------
export const serverMessageSchema = z.discriminatedUnion('type', [
  // The run's own events (run-events.ts), told with the pipeline they belong to.
  runStatusEvent.extend(pipelineRef),
  blockStatusEvent.extend(pipelineRef),
  logEvent.extend(pipelineRef),
  blockProgressEvent.extend(pipelineRef),
  outputEvent.extend(pipelineRef),
  blockErrorEvent.extend(pipelineRef),
  attemptFinishedEvent.extend(pipelineRef),
  blockRunsAddedEvent.extend(pipelineRef),
  callbackEvent.extend(pipelineRef),
  z.object({ type: z.literal('kernel_status'), ...pipelineRef, status: z.enum(['idle', 'busy', 'starting', 'dead']) }),
  z.object({ type: z.literal('output_answer'), ...pipelineRef, block: name, requestId: z.string(), result: outputResultSchema }),
  /** metadata.yaml or a block file was saved (by any tab): the version lets a tab tell its own save from another's. */
  z.object({
    type: z.literal('pipeline_changed'),
    ...pipelineRef,
    version: z.string(),
    /** Blocks renamed by the change, so a tab moves its unsaved text to the new name instead of losing it. */
    renamed: z.array(z.object({ from: name, to: name })).optional(),
  }),
  z.object({ type: z.literal('file_changed'), ...pipelineRef, file: z.string(), version: z.string() }),
  /**
   * A stored run changed (in any process): `state` when the run or a block run did (statuses,
   * attempts), `logs` when log lines were added. Watchers fetch only what changed.
   */
  z.object({ type: z.literal('run_changed'), runId: z.string(), state: z.boolean(), logs: z.boolean() }),
  /** A reply to a message that could not be accepted (malformed, unknown pipeline, ...). */
  z.object({ type: z.literal('error'), code: z.string(), message: z.string(), request: z.string().optional() }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** socket.io event names: one channel each way, the payload carries the discriminant. */
export const CLIENT_EVENT = 'client_message';
export const SERVER_EVENT = 'server_message';
