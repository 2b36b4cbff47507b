#!/usr/bin/env node
// Entry point of the `grimoire` command: the CLI's TypeScript, bundled into plain JavaScript when a
// source changed (lib/bundle/fresh-bundle.js). If bundling is impossible, the sources run through tsx's
// loader in this process instead (what `node --import tsx` does).
const { pathToFileURL } = require('node:url');
const { BUNDLES, findRoot, freshBundle } = require('../lib/bundle/fresh-bundle');

let bundle = null;
try {
  const root = findRoot(__dirname);
  // `run` starts its kernel first (lib/cli/early-kernel.ts), so the kernel's start overlaps the
  // CLI bundle's load; without it the CLI starts the kernel itself, only later.
  if (process.argv[2] === 'run') {
    try {
      const early = BUNDLES.find((b) => b.name === 'cli-early');
      require(freshBundle(root, early.entry, early.name)).startEarlyKernel(process.argv.slice(2));
    } catch {
      // Nothing started: the CLI does it.
    }
  }
  const cli = BUNDLES.find((b) => b.name === 'cli');
  bundle = freshBundle(root, cli.entry, cli.name);
} catch {
  bundle = null;
}
if (bundle) {
  // Source maps stay off: mapping this bundle costs more start-up time than its stack traces are worth.
  require(bundle);
} else {
  import(pathToFileURL(require.resolve('tsx')).href).then(() => require('../lib/cli/main.ts'));
}
