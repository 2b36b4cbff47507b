import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/**
 * A real S3-compatible server for a test file (s3rver, in this process, on 127.0.0.1 with a port of
 * its own), behind a proxy the test steers: count the objects downloaded, refuse writes (403),
 * or break uploads after some succeed (500), as a flaky or locked-down bucket would.
 */
export interface TestS3 {
  /** The proxy's address: what a profile's AWS_ENDPOINT names. */
  endpoint: string;
  /** s3rver itself, without the proxy: for speed figures. */
  serverEndpoint: string;
  /** A port nothing listens on, for "unreachable endpoint". */
  deadEndpoint: string;
  /** Object GETs by key (bucket/key), since the last reset. */
  gets: Map<string, number>;
  /** PUTs (uploads and parts) answered since the last reset. */
  puts: () => number;
  /** null: pass every PUT; n: pass n more PUTs, then answer 500 to each. */
  failPutsAfter: (n: number | null) => void;
  /** true: answer 403 AccessDenied to every PUT and DELETE. */
  denyWrites: (deny: boolean) => void;
  /** null: answer PUTs as the server does; n: after n more, store each PUT but answer 500. */
  storeThenFailAfter: (n: number | null) => void;
  /** true: answer 501 NotImplemented to multi-object delete (POST ?delete), as some servers do. */
  refuseMultiDelete: (refuse: boolean) => void;
  resetCounts: () => void;
  stop: () => Promise<void>;
}

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  resolve(a && typeof a === 'object' ? a.port : 0);
}));

export async function testS3(buckets: string[]): Promise<TestS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'grimoire-s3-'));
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const { port: s3Port } = await s3.run();
  const gets = new Map<string, number>();
  let putCount = 0;
  let putsLeft: number | null = null;
  let deny = false;
  let storedLeft: number | null = null;
  let noMultiDelete = false;
  const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const writes = req.method === 'PUT' || req.method === 'DELETE' || (req.method === 'POST' && url.searchParams.has('delete'));
    if (writes && deny) {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
      return;
    }
    if (noMultiDelete && req.method === 'POST' && url.searchParams.has('delete')) {
      req.resume();
      res.writeHead(501, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>multi-object delete is not implemented</Message></Error>');
      return;
    }
    if (req.method === 'PUT' && storedLeft !== null && storedLeft-- <= 0) {
      // Stored, but the answer is an error: the client cannot know the object exists.
      const upstream = request({ host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        answer.resume();
        answer.on('end', () => {
          res.writeHead(500, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>stored, then broken on purpose</Message></Error>');
        });
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
      return;
    }
    if (req.method === 'PUT') {
      if (putsLeft !== null && putsLeft <= 0) {
        req.resume();
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>broken on purpose</Message></Error>');
        return;
      }
      if (putsLeft !== null) putsLeft--;
      putCount++;
    }
    if (req.method === 'GET' && !url.searchParams.has('list-type') && url.pathname.split('/').length > 2) {
      const key = decodeURIComponent(url.pathname.slice(1));
      gets.set(key, (gets.get(key) ?? 0) + 1);
    }
    const upstream = request({ host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const proxyPort = await listen(proxy);
  const dead = createServer();
  const deadPort = await listen(dead);
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  return {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    serverEndpoint: `http://127.0.0.1:${s3Port}`,
    deadEndpoint: `http://127.0.0.1:${deadPort}`,
    gets,
    puts: () => putCount,
    failPutsAfter: (n) => {
      putsLeft = n;
    },
    denyWrites: (d) => {
      deny = d;
    },
    storeThenFailAfter: (n) => {
      storedLeft = n;
    },
    refuseMultiDelete: (refuse) => {
      noMultiDelete = refuse;
    },
    resetCounts: () => {
      gets.clear();
      putCount = 0;
    },
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
