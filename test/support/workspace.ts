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
      await opened.close();
      await server.close();
      await projects.cleanup();
    },
  };
}
