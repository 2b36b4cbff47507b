/**
 * What an add-block template is, apart from the lists of them (block-templates.ts,
 * connector-templates.ts), so that neither list imports the other for its type.
 */
import { type BlockLanguage, type BlockType, type JsonObject } from './model';

export interface BlockTemplate {
  id: string;
  label: string;
  type: BlockType;
  language: BlockLanguage;
  code: (uuid: string, upstream: readonly string[]) => string;
  /**
   * The configuration the block's entry needs for this template to work (a dynamic block, a
   * sensor's poke_interval), written into the entry with the block; the template's comment shows it too.
   */
  configuration?: JsonObject;
}

/**
 * A TypeScript block function's parameters: one per upstream, then ctx. `DataFrame<'load'>` lets
 * the editor type each argument's rows as its upstream's last output.
 */
export function blockParams(upstream: readonly string[]): string {
  return [...upstream.map((u) => `${u}: DataFrame<'${u}'>`), 'ctx: BlockContext'].join(', ');
}
