import { type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../lib/server/start';
import { launchBrowser, newWidePage, signInWithLink } from './browser';
import { tempProjects } from './projects';

export interface BrowserWorkspace {
  projects: Awaited<ReturnType<typeof tempProjects>>;
  server: RunningServer;
  page: Page;
  close(): Promise<void>;
}

/** How long one step of closing a workspace may take before the test goes on without it. */
const CLOSE_STEP_MS = 60_000;

/**
 * Runs one teardown step, giving up after CLOSE_STEP_MS with a note on stderr: a step that hangs
 * (a process that never exits) must not hold the test file, and CI's whole budget, forever. The
 * runner's --test-force-exit then ends the file's process with whatever is left.
 */
async function bounded(step: string, run: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_STEP_MS)));
  const outcome = await Promise.race([run().then(() => 'done' as const), late]).finally(() => clearTimeout(timer));
  if (outcome === 'late') process.stderr.write(`[workspace] ${step} took over ${CLOSE_STEP_MS / 1000} s; going on without it (active: ${process.getActiveResourcesInfo().join(', ')})\n`);
}

/**
 * What a browser test file starts with: fixture projects copied to a temp folder, the real server
 * (production build) on a free port, and one Chromium tab; close() undoes all three.
 */
export async function browserWorkspace(fixtures: Record<string, string>, options: { wide?: boolean } = {}): Promise<BrowserWorkspace> {
  const projects = await tempProjects(fixtures);
  const server = await startServer({ host: '127.0.0.1', port: 0, projectsDir: projects.root, dev: false });
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  let page: Page;
  try {
    browser = await launchBrowser();
    page = options.wide ? await newWidePage(browser.context) : await browser.context.newPage();
    await signInWithLink(page, server);
  } catch (e) {
    // The test file's after() has no workspace to close: stop the server (and its embedded
    // PostgreSQL) here, or the test process waits on them forever instead of failing.
    await browser?.close().catch(() => undefined);
    await server.close();
    await projects.cleanup();
    throw e;
  }
  const opened = browser;
  return {
    projects,
    server,
    page,
    close: async () => {
      await bounded('closing Chromium', () => opened.close());
      await bounded('closing the server', () => server.close());
      await projects.cleanup();
    },
  };
}
