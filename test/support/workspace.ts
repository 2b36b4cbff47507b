import { type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../lib/server/start';
import { launchBrowser, newWidePage } from './browser';
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
  const browser = await launchBrowser();
  const page = options.wide ? await newWidePage(browser.context) : await browser.context.newPage();
  return {
    projects,
    server,
    page,
    close: async () => {
      await browser.close();
      await server.close();
      await projects.cleanup();
    },
  };
}
