/** The pipeline model shared by every layer. Stored strings here are public (CONTRACTS.md). */

export const BLOCK_TYPES = ['data_loader', 'transformer', 'data_exporter', 'sensor', 'markdown', 'scratchpad'] as const;
export type BlockType = (typeof BLOCK_TYPES)[number];

export const BLOCK_LANGUAGES = ['typescript', 'sql', 'markdown'] as const;
export type BlockLanguage = (typeof BLOCK_LANGUAGES)[number];

/** Mage's folder per block type. */
export const BLOCK_FOLDERS: Record<BlockType, string> = {
  data_loader: 'data_loaders',
  transformer: 'transformers',
  data_exporter: 'data_exporters',
  sensor: 'sensors',
  markdown: 'markdowns',
  scratchpad: 'scratchpads',
};

export const LANGUAGE_EXTENSIONS: Record<BlockLanguage, string> = {
  typescript: 'ts',
  sql: 'sql',
  markdown: 'md',
};

/** The languages each block type may be written in; the first is its default. */
export const TYPE_LANGUAGES: Record<BlockType, readonly BlockLanguage[]> = {
  data_loader: ['typescript', 'sql'],
  transformer: ['typescript', 'sql'],
  data_exporter: ['typescript', 'sql'],
  sensor: ['typescript', 'sql'],
  markdown: ['markdown'],
  scratchpad: ['typescript', 'sql'],
};

/** Block types a pipeline run never runs: notes, and code tried in the editor only. */
export const EDITOR_ONLY_TYPES: ReadonlySet<BlockType> = new Set(['markdown', 'scratchpad']);

/**
 * Add-on blocks (Mage's conditionals and callbacks): not part of the DAG, attached to the blocks
 * named in their `upstream_blocks`, listed under the pipeline's `conditionals:` and `callbacks:`.
 */
export const ADD_ON_KINDS = ['conditional', 'callback'] as const;
export type AddOnKind = (typeof ADD_ON_KINDS)[number];
export const ADD_ON_FOLDERS: Record<AddOnKind, string> = { conditional: 'conditionals', callback: 'callbacks' };
/** The metadata.yaml list each add-on kind is kept in. */
export const ADD_ON_LISTS: Record<AddOnKind, 'conditionals' | 'callbacks'> = { conditional: 'conditionals', callback: 'callbacks' };

export interface AddOnBlock {
  uuid: string;
  name: string;
  kind: AddOnKind;
  /** TypeScript only (CONTRACTS.md: conditionals/<uuid>.ts, callbacks/<uuid>.ts). */
  language: 'typescript';
  /** The blocks it is attached to. */
  upstream: string[];
  configuration: JsonObject;
  /** Path of its code, relative to the project folder. */
  file: string;
}

export function addOnFilePath(kind: AddOnKind, uuid: string): string {
  return `${ADD_ON_FOLDERS[kind]}/${uuid}.ts`;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface Block {
  uuid: string;
  name: string;
  type: BlockType;
  language: BlockLanguage;
  /** Order matters: the block function receives upstream outputs in this order. */
  upstream: string[];
  configuration: JsonObject;
  /** Path of the block's code, relative to the project folder, with forward slashes. */
  file: string;
}

export interface Pipeline {
  uuid: string;
  name: string;
  type: 'batch';
  variables: JsonObject;
  blocks: Block[];
  /** Called before the blocks they are attached to; `false` skips the block (condition_failed). */
  conditionals: AddOnBlock[];
  /** Called after the blocks they are attached to end (onSuccess, onFailure, onCancelled). */
  callbacks: AddOnBlock[];
}

/** Identifiers that become file names and DuckDB table names: keep them boring. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Project and pipeline folder names: no separators, no leading dot, so `..` can never appear. */
export const FOLDER_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function blockFilePath(type: BlockType, uuid: string, language: BlockLanguage): string {
  return `${BLOCK_FOLDERS[type]}/${uuid}.${LANGUAGE_EXTENSIONS[language]}`;
}
