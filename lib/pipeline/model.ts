/** The pipeline model shared by every layer. Stored strings here are public (CONTRACTS.md). */

export const BLOCK_TYPES = ['data_loader', 'transformer', 'data_exporter'] as const;
export type BlockType = (typeof BLOCK_TYPES)[number];

export const BLOCK_LANGUAGES = ['typescript', 'sql'] as const;
export type BlockLanguage = (typeof BLOCK_LANGUAGES)[number];

/** Mage's folder per block type. */
export const BLOCK_FOLDERS: Record<BlockType, string> = {
  data_loader: 'data_loaders',
  transformer: 'transformers',
  data_exporter: 'data_exporters',
};

export const LANGUAGE_EXTENSIONS: Record<BlockLanguage, string> = {
  typescript: 'ts',
  sql: 'sql',
};

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
}

/** Identifiers that become file names and DuckDB table names: keep them boring. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Project and pipeline folder names: no separators, no leading dot, so `..` can never appear. */
export const FOLDER_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function blockFilePath(type: BlockType, uuid: string, language: BlockLanguage): string {
  return `${BLOCK_FOLDERS[type]}/${uuid}.${LANGUAGE_EXTENSIONS[language]}`;
}
