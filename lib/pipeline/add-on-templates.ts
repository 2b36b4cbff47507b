/**
 * Starting code for add-on blocks (conditionals and callbacks), as data, like block-templates.ts
 * for blocks. A template is a function of the add-on's uuid and the blocks it is attached to.
 */
import { type AddOnKind } from './model';

export interface AddOnTemplate {
  id: string;
  label: string;
  kind: AddOnKind;
  code: (uuid: string, attachedTo: readonly string[]) => string;
}

export const ADD_ON_TEMPLATES: readonly AddOnTemplate[] = [
  {
    id: 'conditional_generic',
    label: 'Generic condition',
    kind: 'conditional',
    code: (uuid) => `/** Called before each block it is attached to, with that block's arguments; false skips the block. */
export default async function ${uuid}(...args: [...DataFrame[], BlockContext]) {
  const ctx = args[args.length - 1] as BlockContext;
  return ctx.variables.skip !== true;
}
`,
  },
  {
    id: 'callback_generic',
    label: 'Generic callbacks',
    kind: 'callback',
    code: () => `/** Called after each block it is attached to ends that way; any of the three may be left out. */
export async function onSuccess(ctx: BlockContext) {
  ctx.log(\`\${ctx.blockRunName} completed\`);
}

export async function onFailure(ctx: BlockContext) {
  ctx.log(\`\${ctx.blockRunName} failed: \${ctx.error?.message}\`);
}

export async function onCancelled(ctx: BlockContext) {
  ctx.log(\`\${ctx.blockRunName} was cancelled\`);
}
`,
  },
];

/** The templates offered for a new conditional or callback, generic first. */
export function addOnTemplatesFor(kind: AddOnKind): AddOnTemplate[] {
  return ADD_ON_TEMPLATES.filter((t) => t.kind === kind);
}

export function findAddOnTemplate(id: string): AddOnTemplate | undefined {
  return ADD_ON_TEMPLATES.find((t) => t.id === id);
}
