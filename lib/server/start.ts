import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import next from 'next';
import { Server } from 'socket.io';
import { openDatabase, postgresEnv } from '../db/database';
import { startOrchestration } from '../scheduler/orchestrator';
import { findRoot } from '../../bin/fresh-bundle';
import { Gateway } from './gateway';
import { watchRunChanges } from './run-watch';

export interface ServerOptions {
  host: string;
  port: number;
  projectsDir: string;
  dev: boolean;
}

/** The repository root: where next.config.js and the app/ folder are (this file may run from a bundle). */
const APP_DIR = findRoot(__dirname);

/** Newest modification time of the sources the production build is made from. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  for (const dir of ['app', 'components', 'lib']) walk(path.join(APP_DIR, dir));
  for (const file of ['next.config.js', 'package.json']) newest = Math.max(newest, statSync(path.join(APP_DIR, file)).mtimeMs);
  return newest;
}

/** Builds when there is no production build, or when the sources are newer than it (after a pull). */
function buildOnce(): Promise<void> {
  const marker = path.join(APP_DIR, '.next', 'BUILD_ID');
  if (existsSync(marker) && statSync(marker).mtimeMs >= newestSource()) return Promise.resolve();
  process.stdout.write(
    existsSync(marker) ? 'Sources changed since the last build: running `next build`...\n' : 'No production build yet: running `next build` once (about a minute)...\n',
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve('next/dist/bin/next'), 'build'], { cwd: APP_DIR, stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`next build failed (exit code ${code})`))));
  });
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Next and socket.io on one port. Pages read the projects folder from GRIMOIRE_PROJECTS. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const projectsDir = path.resolve(options.projectsDir);
  process.env.GRIMOIRE_PROJECTS = projectsDir;
  // Route handlers run from Next's build output; they find lib/ (e.g. the block API types) here.
  process.env.GRIMOIRE_APP_DIR = APP_DIR;
  if (!options.dev) await buildOnce();
  const app = next({ dev: options.dev, dir: APP_DIR, hostname: options.host, port: options.port });
  const handle = app.getRequestHandler();
  await app.prepare();
  const http = createServer((req, res) => void handle(req, res));
  const io = new Server(http, { maxHttpBufferSize: 5e6 });
  const database = await openDatabase(path.join(projectsDir, '.grimoire'));
  const gateway = new Gateway(io, projectsDir, postgresEnv(database.coordinates));
  // Scheduler, run store and an in-process worker (triggers -> runs -> kernels), on the same database.
  const orchestration = await startOrchestration({ url: database.url, projectsDir, kernelEnv: postgresEnv(database.coordinates) });
  const stopRunWatch = await watchRunChanges(io, orchestration.store);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const address = http.address();
  const port = address && typeof address === 'object' ? address.port : options.port;
  const url = `http://${options.host}:${port}`;
  process.stdout.write(`Grimoire is running at ${url} (projects: ${projectsDir})\n`);
  process.stdout.write(
    database.source === 'embedded'
      ? `Embedded PostgreSQL: psql "${database.url}"\n`
      : `PostgreSQL from DATABASE_URL: ${database.coordinates.host}:${database.coordinates.port}/${database.coordinates.database}\n`,
  );
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await stopRunWatch();
      await gateway.close();
      io.close();
      // Browsers keep HTTP connections open; without this, close() waits for them to time out.
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await app.close();
      await orchestration.close();
      await database.close();
    })();
    return closing;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void close().finally(() => process.exit(0));
    });
  }
  return { url, close };
}
