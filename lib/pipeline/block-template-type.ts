/**
 * What an add-block template is, apart from the lists of them (block-templates.ts,
 * connector-templates.ts), so that neither list imports the other for its type.
 */
import { type BlockLanguage, type BlockType } from './model';

export interface BlockTemplate {
  id: string;
  label: string;
  type: BlockType;
  language: BlockLanguage;
  code: (uuid: string, upstream: readonly string[]) => string;
}

/**
 * A TypeScript block function's parameters: one per upstream, then ctx. `DataFrame<'load'>` lets
 * the editor type each argument's rows as its upstream's last output.
 */
export function blockParams(upstream: readonly string[]): string {
  return [...upstream.map((u) => `${u}: DataFrame<'${u}'>`), 'ctx: BlockContext'].join(', ');
}
