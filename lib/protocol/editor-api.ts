/**
 * The HTTP side of the protocol: bodies the editor sends to the route handlers under app/api and
 * what they answer. Route handlers parse requests with these; the browser parses the answers.
 * Every write carries the version (content hash) the browser loaded, so a save over someone
 * else's change is a conflict (409), never a silent overwrite.
 */
import { z } from 'zod';
import { ADD_ON_KINDS, BLOCK_LANGUAGES, BLOCK_TYPES, FOLDER_NAME_PATTERN, IDENTIFIER_PATTERN } from '../pipeline/model';
import { jsonValue } from './json';

const folderName = z.string().min(1).max(100).regex(FOLDER_NAME_PATTERN, 'use letters, digits, _ . - (no spaces or slashes)');
export const blockUuidSchema = z.string().min(1).max(100).regex(IDENTIFIER_PATTERN, 'use letters, digits and _ (not starting with a digit)');
const version = z.string().min(1).max(100);

export const PROJECT_TEMPLATES = ['empty', 'starter'] as const;
export const createProjectSchema = z.object({ name: folderName, template: z.enum(PROJECT_TEMPLATES).default('empty') });

export const pipelinesActionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('create'), name: folderName }),
  z.object({ action: z.literal('clone'), from: folderName, name: folderName }),
]);
export const renamePipelineSchema = z.object({ name: folderName });


/** A block's retry_config as Mage writes it; every field optional (the pipeline's and project's fill the rest). */
export const retryConfigSchema = z.strictObject({
  retries: z.number().int('retries must be a whole number').min(0, 'retries must be 0 or more').optional(),
  delay: z.number().min(0, 'delay must be 0 or more seconds').optional(),
  max_delay: z.number().min(0, 'max_delay must be 0 or more seconds').optional(),
  exponential_backoff: z.boolean().optional(),
});
export type RetryConfigInput = z.infer<typeof retryConfigSchema>;

/** An add-on kind as routes name it (`/add-ons/conditional/<uuid>`). */
export const addOnKindSchema = z.enum(ADD_ON_KINDS);

const seconds = (field: string) => z.number().positive(`${field} must be a positive number of seconds`);

/** Edits the notebook and the graph make; applied to metadata.yaml (comments kept) and block files. */
export const editorEditSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('add_block'),
    uuid: blockUuidSchema,
    type: z.enum(BLOCK_TYPES),
    language: z.enum(BLOCK_LANGUAGES),
    upstream: z.array(blockUuidSchema).default([]),
    index: z.number().int().nonnegative().optional(),
    /**
     * A template id (lib/pipeline/block-templates.ts), 'existing' to reuse a block file already in
     * the project, or 'blank' for an empty file (a kind may have no template yet).
     */
    source: z.union([z.object({ template: z.string() }), z.object({ existing: z.literal(true) }), z.object({ blank: z.literal(true) })]),
    /** Blocks that should take the new block as an upstream (e.g. inserting between two). */
    downstream: z.array(blockUuidSchema).default([]),
  }),
  z.object({ kind: z.literal('remove_block'), uuid: blockUuidSchema }),
  z.object({ kind: z.literal('rename_block'), uuid: blockUuidSchema, to: blockUuidSchema }),
  z.object({ kind: z.literal('move_block'), uuid: blockUuidSchema, index: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('set_upstream'), uuid: blockUuidSchema, upstream: z.array(blockUuidSchema) }),
  z.object({ kind: z.literal('add_edge'), from: blockUuidSchema, to: blockUuidSchema }),
  z.object({ kind: z.literal('remove_edge'), from: blockUuidSchema, to: blockUuidSchema }),
  /** Pipeline variables (metadata.yaml `variables`), read by blocks as ctx.variables and {{ variables('x') }}. */
  z.object({ kind: z.literal('set_variable'), name: blockUuidSchema, value: jsonValue }),
  z.object({ kind: z.literal('remove_variable'), name: blockUuidSchema }),
  /**
   * The block settings panel: null removes a setting. `destination` is checked against the
   * destination format on the server, so its error names the field.
   */
  z.object({
    kind: z.literal('set_block_settings'),
    uuid: blockUuidSchema,
    retry_config: retryConfigSchema.nullable(),
    timeout: z.number().positive('timeout must be a positive number of seconds').nullable(),
    destination: jsonValue.nullable(),
    /** configuration.dynamic / reduce_output; false removes the key (Mage's default). Left out: unchanged. */
    dynamic: z.boolean().optional(),
    reduce_output: z.boolean().optional(),
    /** A sensor's configuration.poke_interval and configuration.timeout (seconds); null removes. Left out: unchanged. */
    poke_interval: seconds('poke_interval').nullable().optional(),
    sensor_timeout: seconds('sensor timeout').nullable().optional(),
  }),
  /** A new type and/or language: the block file moves to its folder and extension, its code unchanged. */
  z.object({ kind: z.literal('change_block_kind'), uuid: blockUuidSchema, type: z.enum(BLOCK_TYPES), language: z.enum(BLOCK_LANGUAGES) }),
  /**
   * Add-on blocks (Mage's conditionals and callbacks): an entry in metadata.yaml's `conditionals:` or
   * `callbacks:` and its file `conditionals/<uuid>.ts`. `upstream` is the blocks it is attached to.
   * Removing one keeps its file, as removing a block does.
   */
  z.object({
    kind: z.literal('add_add_on'),
    addOn: z.enum(ADD_ON_KINDS),
    uuid: blockUuidSchema,
    upstream: z.array(blockUuidSchema).min(1, 'attach it to at least one block'),
    /** A template id (lib/pipeline/add-on-templates.ts), or 'existing' to list a file already in the project. */
    source: z.union([z.object({ template: z.string() }), z.object({ existing: z.literal(true) })]),
  }),
  z.object({ kind: z.literal('set_add_on_upstream'), addOn: z.enum(ADD_ON_KINDS), uuid: blockUuidSchema, upstream: z.array(blockUuidSchema).min(1, 'attach it to at least one block') }),
  z.object({ kind: z.literal('remove_add_on'), addOn: z.enum(ADD_ON_KINDS), uuid: blockUuidSchema }),
]);
export type EditorEdit = z.infer<typeof editorEditSchema>;
export type EditorEditInput = z.input<typeof editorEditSchema>;

export const editPipelineSchema = z.object({ version, edits: z.array(editorEditSchema).min(1).max(50) });
export const saveFileSchema = z.object({ content: z.string().max(5_000_000), version });

const blockSchema = z.object({
  uuid: z.string(),
  name: z.string(),
  type: z.enum(BLOCK_TYPES),
  language: z.enum(BLOCK_LANGUAGES),
  upstream: z.array(z.string()),
  file: z.string(),
  configuration: z.record(z.string(), z.unknown()),
  /** As written in the block's entry (the settings panel shows what the file says, not merged defaults). */
  retry_config: z.record(z.string(), z.unknown()).nullable(),
  timeout: z.unknown().optional(),
});
export type EditorBlock = z.infer<typeof blockSchema>;

const addOnSchema = z.object({
  uuid: z.string(),
  kind: z.enum(ADD_ON_KINDS),
  /** The blocks it is attached to. */
  upstream: z.array(z.string()),
  file: z.string(),
});
export type EditorAddOn = z.infer<typeof addOnSchema>;

const issueSchema = z.object({ file: z.string(), block: z.string().optional(), line: z.number().optional(), message: z.string() });

/** A pipeline as the editor holds it; `issues` lists what keeps it from running (the editor still opens). */
export const editorPipelineSchema = z.object({
  project: z.string(),
  uuid: z.string(),
  name: z.string(),
  version: z.string(),
  blocks: z.array(blockSchema),
  /** Add-on blocks, with the blocks each is attached to. */
  conditionals: z.array(addOnSchema),
  callbacks: z.array(addOnSchema),
  variables: z.record(z.string(), jsonValue),
  issues: z.array(issueSchema),
});
export type EditorPipeline = z.infer<typeof editorPipelineSchema>;

export const blockFileSchema = z.object({ file: z.string(), content: z.string(), version: z.string() });
export type BlockFile = z.infer<typeof blockFileSchema>;

export const savedFileSchema = z.object({ file: z.string(), version: z.string() });

export const projectFilesSchema = z.object({
  files: z.array(z.object({ path: z.string(), type: z.enum(BLOCK_TYPES), language: z.enum(BLOCK_LANGUAGES), uuid: z.string() })),
  /** Add-on files (conditionals/, callbacks/), so one removed from a pipeline can be listed again. */
  addOns: z.array(z.object({ path: z.string(), kind: z.enum(ADD_ON_KINDS), uuid: z.string() })),
});
export type ProjectFiles = z.infer<typeof projectFilesSchema>;

export const apiErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
