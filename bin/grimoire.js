#!/usr/bin/env node
// Entry point of the `grimoire` command: TypeScript sources run through tsx's loader, in this process.
require('tsx/cjs');
require('../lib/cli/main.ts');
