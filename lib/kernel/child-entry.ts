import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLES, findRoot, freshBundle } from '../bundle/fresh-bundle';

export interface ChildEntry {
  file: string;
  /** Arguments after the file (the bundle the code-cache loader runs). */
  args: string[];
  execArgv: string[];
}

/**
 * How to start a kernel: its sources bundled into plain JavaScript, checked at every kernel start
 * (a few dozen stats) and rebuilt when a source changed. If bundling fails, the sources run
 * through tsx as before: slower to start, never broken.
 */
export function childEntry(): ChildEntry {
  const root = findRoot(__dirname);
  const kernel = BUNDLES.find((b) => b.name === 'kernel-child') ?? { entry: 'lib/kernel/child.ts', name: 'kernel-child' };
  try {
    // No --enable-source-maps: mapping the bundle itself costs ~60 ms per start; the kernel turns
    // source maps on once loaded, for the blocks it compiles (their errors point at block lines).
    const bundle = freshBundle(root, kernel.entry, kernel.name);
    // Through V8's code cache (lib/bundle/code-cache.js): ~50 ms less of every kernel's start.
    return { file: path.join(root, 'lib', 'bundle', 'code-cache.js'), args: [bundle], execArgv: [] };
  } catch {
    return { file: path.join(root, kernel.entry), args: [], execArgv: ['--import', pathToFileURL(require.resolve('tsx')).href] };
  }
}
