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
    id: 'conditional_variable',
    label: 'Run when a variable is true',
    kind: 'conditional',
    code: (uuid) => `/**
 * Runs the blocks it is attached to only when the variable \`${uuid}\` is true (a pipeline variable,
 * or a runtime one: --runtime-vars '{"${uuid}": true}'); otherwise they are skipped (condition_failed).
 */
export default async function ${uuid}(...args: [...DataFrame[], BlockContext]) {
  const ctx = args[args.length - 1] as BlockContext;
  const wanted = ctx.variables['${uuid}'] === true;
  if (!wanted) ctx.log('skipped: set the variable ${uuid} to true to run it');
  return wanted;
}
`,
  },
  {
    id: 'conditional_has_rows',
    label: 'Run when its input has rows',
    kind: 'conditional',
    code: (uuid) => `/** Skips the blocks it is attached to (condition_failed) when any of their upstream outputs is empty. */
export default async function ${uuid}(...args: [...DataFrame[], BlockContext]) {
  const frames = args.slice(0, -1) as DataFrame[];
  return frames.every((frame) => frame.rowCount > 0);
}
`,
  },
  {
    id: 'conditional_weekdays',
    label: 'Run on weekdays',
    kind: 'conditional',
    code: (uuid) => `/** Runs the blocks it is attached to only when the run's execution date is a weekday (UTC). */
export default async function ${uuid}(...args: [...DataFrame[], BlockContext]) {
  const ctx = args[args.length - 1] as BlockContext;
  const day = ctx.executionDate.getUTCDay();
  return day !== 0 && day !== 6;
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
  {
    id: 'callback_webhook',
    label: 'Post to a webhook (Slack, Teams, your own)',
    kind: 'callback',
    code: () => `/**
 * Posts a JSON message to a webhook when a block it is attached to fails or is cancelled. The URL
 * is the variable webhook_url or, better, the workspace secret WEBHOOK_URL (an owner sets it in
 * Settings or with \`grimoire secrets set WEBHOOK_URL\`): a URL from a secret is never logged.
 */
function webhook(ctx: BlockContext): { url: string; name: string } {
  const fromVariable = ctx.variables.webhook_url;
  if (typeof fromVariable === 'string' && fromVariable !== '') return { url: fromVariable, name: fromVariable };
  return { url: ctx.secrets.get('WEBHOOK_URL'), name: 'the webhook of secret WEBHOOK_URL' };
}

async function post(ctx: BlockContext, text: string) {
  const { url, name } = webhook(ctx);
  const body = { text, pipeline: ctx.pipelineUuid, block: ctx.blockRunName, run: ctx.runId, status: ctx.status ?? null };
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  } catch {
    // The error of fetch may carry the host and port: said in words of our own instead.
    throw new Error(\`\${name} could not be reached\`);
  }
  if (!response.ok) throw new Error(\`\${name} answered \${response.status}\`);
  ctx.log(\`posted to \${name}\`);
}

export async function onFailure(ctx: BlockContext) {
  await post(ctx, \`\${ctx.pipelineUuid}: \${ctx.blockRunName} failed: \${ctx.error?.message ?? 'no error message'}\`);
}

export async function onCancelled(ctx: BlockContext) {
  await post(ctx, \`\${ctx.pipelineUuid}: \${ctx.blockRunName} was cancelled\`);
}

// To hear of successes too:
// export async function onSuccess(ctx: BlockContext) {
//   await post(ctx, \`\${ctx.pipelineUuid}: \${ctx.blockRunName} completed\`);
// }
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
