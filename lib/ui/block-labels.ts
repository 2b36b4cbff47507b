import { type AddOnKind, type BlockLanguage, type BlockType } from '../pipeline/model';

/** How each block type is named in the UI (Mage's names). */
export const BLOCK_TYPE_LABELS: Record<BlockType, string> = {
  data_loader: 'Data loader',
  transformer: 'Transformer',
  data_exporter: 'Data exporter',
  sensor: 'Sensor',
  markdown: 'Markdown',
  scratchpad: 'Scratchpad',
};

/** How each block language is named in the UI. */
export const BLOCK_LANGUAGE_LABELS: Record<BlockLanguage, string> = { typescript: 'TypeScript', sql: 'SQL', markdown: 'Markdown' };

/** How each add-on kind is named in the UI. */
export const ADD_ON_LABELS: Record<AddOnKind, string> = { conditional: 'Conditional', callback: 'Callback' };

/** A block-run status as shown (`condition_failed` -> `condition failed`, `not_run` -> `not run`). */
export function statusLabel(status: string): string {
  return status.replaceAll('_', ' ');
}
