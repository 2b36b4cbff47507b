import { promises as fs } from 'node:fs';
import path from 'node:path';
import { blockApiGlobals } from '../block-types/block-api-dts';

/** Where the server's own sources are (set by startServer); route handlers read lib/ from there. */
export function appDir(): string {
  return path.resolve(/*turbopackIgnore: true*/ process.env.GRIMOIRE_APP_DIR ?? process.cwd());
}

/** The block API as globals, from the kernel's own declaration file. */
export async function readBlockApiGlobals(): Promise<string> {
  const source = await fs.readFile(path.join(/*turbopackIgnore: true*/ appDir(), 'lib', 'kernel', 'block-api.ts'), 'utf8');
  return blockApiGlobals(source);
}
