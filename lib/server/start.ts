import { spawn } from 'node:child_process';
import { kernelNice } from '../kernel/kernel-priority';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import next from 'next';
import { Server } from 'socket.io';
import { openDatabase } from '../db/database';
import { startOrchestration } from '../scheduler/orchestrator';
import { findRoot } from '../bundle/fresh-bundle';
import { AccessStore } from '../access/access-store';
import { type AccessContext, setAccessContext } from '../access/context';
import { createGate } from '../access/gate';
import { hostAllowed, originAllowed, parseAllowedHosts } from '../access/hosts';
import { socketAccessOf } from '../access/socket-access';
import { loadSecretKey } from '../access/secret-key';
import { workspaceSecretStore } from '../access/secret-store';
import { prepareAccess } from '../access/start-access';
import { SignInThrottle } from '../access/throttle';
import { holdPresence } from '../store/presence';
import { Gateway } from './gateway';
import { watchRunChanges } from './run-watch';
import { removeLeftovers } from '../project/leftovers';

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
  /** The link that signs a browser in with the start token, when the server has one. */
  signInUrl: string | null;
  /** The start token itself (GRIMOIRE_TOKEN or the random one), when the server has one: a bearer token for scripts. */
  startToken: string | null;
  close(): Promise<void>;
}

/** GRIMOIRE_MAX_BODY_BYTES, default 10 MB: larger request bodies are refused before they are read. */
function maxBodyBytes(): number {
  const set = Number(process.env.GRIMOIRE_MAX_BODY_BYTES);
  return Number.isInteger(set) && set > 0 ? set : 10 * 1024 * 1024;
}

/** Next and socket.io on one port, behind the access gate. Pages read the projects folder from GRIMOIRE_PROJECTS. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  // A bad GRIMOIRE_KERNEL_NICE stops the start, naming the variable, not every kernel later.
  kernelNice();
  const projectsDir = path.resolve(options.projectsDir);
  process.env.GRIMOIRE_PROJECTS = projectsDir;
  // Route handlers run from Next's build output; they find lib/ (e.g. the block API types) here.
  process.env.GRIMOIRE_APP_DIR = APP_DIR;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // Temp files of writers that crashed (a save, an output copy, a lake export): never a live writer's.
  const swept = await removeLeftovers(projectsDir);
  if (swept.removed.length + swept.restored.length > 0) {
    log(`removed ${swept.removed.length} temp file(s) left by a crash${swept.restored.length > 0 ? `; put back ${swept.restored.join(', ')}` : ''}`);
  }
  const database = await openDatabase(path.join(projectsDir, '.grimoire'));
  const kernelEnv = database.kernelEnv;
  // Scheduler, run store and an in-process worker (triggers -> runs -> kernels), on the same database.
  const orchestration = await startOrchestration({ url: database.url, projectsDir, kernelEnv }).catch(async (e: unknown) => {
    await database.close();
    throw e;
  });
  let access: Awaited<ReturnType<typeof prepareAccess>>;
  try {
    access = await prepareAccess(new AccessStore(orchestration.store.pool), options.host, process.env);
    // A bad GRIMOIRE_SECRET_KEY stops the start with its reason, not the first block that reads a secret.
    await loadSecretKey(path.join(projectsDir, '.grimoire'));
    if (!options.dev) await buildOnce();
  } catch (e) {
    await orchestration.close();
    await database.close();
    throw e;
  }
  const context: AccessContext = {
    store: access.store,
    startToken: access.startToken,
    throttle: new SignInThrottle(),
    hosts: { boundHost: options.host, port: options.port, allowedHosts: parseAllowedHosts(process.env.GRIMOIRE_ALLOWED_HOSTS) },
    maxBodyBytes: maxBodyBytes(),
    log,
  };
  setAccessContext(context);
  const app = next({ dev: options.dev, dir: APP_DIR, hostname: options.host, port: options.port });
  const handle = app.getRequestHandler();
  await app.prepare();
  const gate = createGate(() => context, { dev: options.dev });
  const forward = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const http = createServer((req, res) => gate.handle(req, res, forward));
  const io = new Server(http, {
    maxHttpBufferSize: 5e6,
    // The handshake's Host and Origin, as for HTTP: a foreign page cannot open a socket with the user's cookie.
    allowRequest: (req, callback) => {
      const host = Array.isArray(req.headers.host) ? req.headers.host[0] : req.headers.host;
      callback(null, hostAllowed(host, context.hosts) && originAllowed(req.headers.origin, host));
    },
  });
  const secretStore = workspaceSecretStore(orchestration.store.pool, projectsDir);
  // Editor runs are recorded under this server's liveness: if it dies, recovery fails them rather than leaving them running.
  const liveness = await holdPresence({ url: orchestration.store.url, workers: orchestration.store.workers, ownerId: `editor-${process.pid}-${randomUUID().slice(0, 8)}`, kind: 'server' });
  const gateway = new Gateway(io, projectsDir, {
    access: socketAccessOf(() => context),
    kernelEnv,
    idleKernelMs: idleKernelMs(),
    secrets: () => secretStore.values(),
    recorder: { store: orchestration.store, ownerId: liveness.ownerId },
  });
  const stopRunWatch = await watchRunChanges(io, orchestration.store);
  // A user removed or a role changed (here or by `grimoire users` elsewhere): drop the sockets it ends.
  const revalidate = () => void gateway.revalidateAll().catch((e: unknown) => log(`access: ${String(e)}`));
  // Also after the database was away: a change made meanwhile was never announced.
  const stopAccessWatch = await orchestration.store.listen(['access_changes'], revalidate, revalidate);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const address = http.address();
  const port = address && typeof address === 'object' ? address.port : options.port;
  context.hosts = { ...context.hosts, port };
  // A wildcard bind is reached through the loopback name on this machine.
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${shownHost}:${port}`;
  const signInUrl = access.startTokenValue !== null && (await context.store.startTokenAccepted(context.startToken)) ? `${url}/?token=${access.startTokenValue}` : null;
  process.stdout.write(`Grimoire is running at ${url} (projects: ${projectsDir})\n`);
  process.stdout.write(signInUrl ? `Open ${signInUrl}\n` : `Sign in at ${url}/login with a user (add one with: grimoire users add <name> --role owner)\n`);
  process.stdout.write(
    database.source === 'embedded'
      ? `Embedded PostgreSQL on ${database.coordinates.host}:${database.coordinates.port} (user ${database.coordinates.user}; its password is in ${path.join(projectsDir, '.grimoire', 'postgres.password')})\n`
      : `PostgreSQL from DATABASE_URL: ${database.coordinates.host}:${database.coordinates.port}/${database.coordinates.database}\n`,
  );
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await stopAccessWatch();
      await stopRunWatch();
      await gateway.close();
      io.close();
      // Browsers keep HTTP connections open; without this, close() waits for them to time out.
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await app.close();
      setAccessContext(undefined);
      await liveness.release();
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
  return { url, signInUrl, startToken: signInUrl ? access.startTokenValue : null, close };
}

/** GRIMOIRE_KERNEL_IDLE_MINUTES, default 30: a kernel no tab shows and that runs nothing stops after this. */
function idleKernelMs(): number {
  const minutes = Number(process.env.GRIMOIRE_KERNEL_IDLE_MINUTES);
  return (Number.isFinite(minutes) && minutes > 0 ? minutes : 30) * 60_000;
}
