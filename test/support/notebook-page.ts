/**
 * What a user does in the pipeline editor, as Playwright steps shared by the browser tests:
 * find a block, paste code into Monaco, add a block from the menu, draw and pick graph edges.
 */
import { type Locator, type Page } from 'playwright-core';

export const block = (p: Page, uuid: string) => p.getByRole('region', { name: `Block ${uuid}` });

/**
 * Replaces a block's code the way a user does: click into Monaco, select all, paste (typing
 * multi-line code key by key would meet Monaco's auto-indent and auto-closing brackets).
 * The browser context needs the clipboard permissions.
 */
export async function typeCode(p: Page, uuid: string, code: string): Promise<void> {
  const editor = p.getByTestId(`editor-${uuid}`).locator('.monaco-editor');
  await editor.waitFor();
  // The clipboard belongs to the focused tab.
  await p.bringToFront();
  await editor.locator('.view-lines').click();
  await p.keyboard.press('ControlOrMeta+A');
  await p.evaluate((text) => navigator.clipboard.writeText(text), code);
  await p.keyboard.press('ControlOrMeta+V');
  // Wait until the editor shows the pasted text (Monaco renders spaces as no-break spaces).
  const first = code.split('\n')[0]?.slice(0, 40) ?? '';
  await editor.locator('.view-lines').filter({ hasText: first.replace(/ /g, '\u00a0') }).or(editor.locator('.view-lines').filter({ hasText: first })).first().waitFor();
}

/** Mage's "Add block" menu; `upstream` picks the block to wire it below ('' for none), else the form's default. */
export async function addBlock(p: Page, opts: { type: string; language: string; template: string; name: string; upstream?: string }): Promise<void> {
  await p.getByRole('button', { name: 'Add block', exact: true }).click();
  const form = p.getByRole('form', { name: 'New block' });
  await form.getByLabel('Block type').selectOption({ label: opts.type });
  await form.getByLabel('Language').selectOption({ label: opts.language });
  await form.getByLabel('Template').selectOption({ label: opts.template });
  await form.getByLabel('Block name').fill(opts.name);
  if (opts.upstream !== undefined) await form.getByLabel('Upstream block').selectOption(opts.upstream);
  await form.getByRole('button', { name: 'Create block' }).click();
  await block(p, opts.name).waitFor();
  await p.getByTestId(`editor-${opts.name}`).locator('.monaco-editor').waitFor();
}

export async function dragHandle(p: Page, from: Locator, to: Locator): Promise<void> {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  if (!a || !b) throw new Error('handle not visible');
  await p.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await p.mouse.down();
  await p.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await p.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await p.mouse.up();
}

export const sourceHandle = (p: Page, uuid: string) => p.getByTestId(`node-${uuid}`).locator('.react-flow__handle.source');
export const targetHandle = (p: Page, uuid: string) => p.getByTestId(`node-${uuid}`).locator('.react-flow__handle.target');
export const edge = (p: Page, from: string, to: string) => p.locator(`.react-flow__edge[aria-label="Edge from ${from} to ${to}"]`);

/** A straight vertical edge has a zero-width box, which Playwright calls invisible: click its middle. */
export async function clickEdge(p: Page, from: string, to: string): Promise<void> {
  const box = await edge(p, from, to).locator('path').first().boundingBox();
  if (!box) throw new Error(`edge ${from} -> ${to} is not drawn`);
  await p.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}
