// Runs a CommonJS bundle with V8's code cache: its compiled code is saved beside it
// (`<bundle>.v8cache`) when the first process to run it exits, every function it compiled
// included, and later starts skip most of the parsing and compiling. For the kernel (~50 ms of
// its ~0.29 s start: the bundle is 1.5 MB); not for the CLI, which imports ESM-only packages:
// Node 20 runs no import() in such a script without --experimental-vm-modules, so a bundle that
// has one is run as a plain module instead. V8 checks the cache against the source and its own
// version and flags; a cache it rejects is simply made again. Plain JavaScript, like
// fresh-bundle.js: it runs before anything could compile TypeScript.
// Usage: node lib/bundle/code-cache.js <bundle.cjs>
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

function runWithCodeCache(file) {
  const cacheFile = `${file}.v8cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const source = readFileSync(file, 'utf8');
  // A bundle that uses import() runs as a plain module (slower to start, never broken).
  if (/\bimport\s*\(/.test(source)) {
    require(file);
    return;
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
  });
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(path.dirname(file));
  bundle.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected) {
    // Only the first run after a rebuild pays for it (~20 ms, as it exits). Another process may
    // write it at the same time: each writes its own file and renames it into place.
    process.once('exit', () => {
      const draft = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(draft, script.createCachedData());
        renameSync(draft, cacheFile);
      } catch {
        rmSync(draft, { force: true });
      }
    });
  }
  script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, path.dirname(file));
}

runWithCodeCache(path.resolve(process.argv[2]));
