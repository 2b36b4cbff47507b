#!/usr/bin/env node
// Entry point of the `grimoire` command. The TypeScript sources run through tsx's loader in this
// process: importing it is what `node --import tsx` does (hooks for require and import() alike).
const { pathToFileURL } = require('node:url');

import(pathToFileURL(require.resolve('tsx')).href).then(() => require('../lib/cli/main.ts'));
