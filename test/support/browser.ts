import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium, headless, with the flags this offline machine needs. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`browser tests need Chromium at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const profile = await mkdtemp(path.join(os.tmpdir(), 'grimoire-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Tests drive two tabs as a user drives two windows side by side: both live. Headless, the tab
      // not in front counts as hidden, and Chromium's budget throttling can hold its timers (the
      // 2-second autosave) past a test's wait when the machine is busy.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
    ],
  });
  // The editor's copy buttons and paste shortcuts are exercised by the tests.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A tab wide enough for the notebook, the graph and the sidekick side by side. */
export async function newWidePage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1600, height: 1000 });
  return page;
}

/**
 * Signs the browser in as a user on their own machine does: by opening the link `grimoire start`
 * printed. The server answers with the session cookie and the same page without the token.
 */
export async function signInWithLink(page: Page, server: { signInUrl: string | null }): Promise<void> {
  if (!server.signInUrl) throw new Error('the server printed no sign-in link (does it have users?)');
  await page.goto(server.signInUrl);
  if (new URL(page.url()).searchParams.has('token')) throw new Error(`the token stayed in the address bar: ${page.url()}`);
  if (new URL(page.url()).pathname === '/login') throw new Error('the sign-in link was refused');
}
