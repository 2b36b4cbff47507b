import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export class CompileError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = 'CompileError';
  }
}

/**
 * Transpiles a TypeScript block to CommonJS with an inline source map and writes it under the
 * project's data directory (so `require` of packages still resolves from the project upwards).
 * With source maps enabled in the kernel, stack traces point at lines of the original block file.
 */
export async function compileBlock(sourceFile: string, buildDir: string, uuid: string): Promise<string> {
  await fs.mkdir(buildDir, { recursive: true });
  let code: string;
  try {
    // Bundled so that relative imports (a project's utils/) resolve from the block's own folder;
    // packages stay external and resolve from the project upwards at run time.
    const result = await build({
      entryPoints: [sourceFile],
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: 'inline',
      write: false,
      outfile: path.join(buildDir, `${uuid}.cjs`),
      logLevel: 'silent',
    });
    code = result.outputFiles[0]?.text ?? '';
  } catch (e) {
    const first = e && typeof e === 'object' && 'errors' in e && Array.isArray(e.errors) ? e.errors[0] : undefined;
    const loc: unknown = first && typeof first === 'object' && 'location' in first ? first.location : undefined;
    const text = first && typeof first === 'object' && 'text' in first && typeof first.text === 'string' ? first.text : String(e);
    const line = loc && typeof loc === 'object' && 'line' in loc && typeof loc.line === 'number' ? loc.line : undefined;
    const column = loc && typeof loc === 'object' && 'column' in loc && typeof loc.column === 'number' ? loc.column + 1 : undefined;
    const file = loc && typeof loc === 'object' && 'file' in loc && typeof loc.file === 'string' ? loc.file : undefined;
    throw new CompileError(file && !sourceFile.endsWith(file) ? `${file}: ${text}` : text, line, column);
  }
  const hash = createHash('sha1').update(code).digest('hex').slice(0, 12);
  const out = path.join(buildDir, `${uuid}.${hash}.cjs`);
  try {
    await fs.access(out);
  } catch {
    const tmp = `${out}.${process.pid}.tmp`;
    await fs.writeFile(tmp, code);
    await fs.rename(tmp, out);
    // Older builds of this block are dead weight once a new one exists.
    for (const f of await fs.readdir(buildDir)) {
      if (f.startsWith(`${uuid}.`) && f.endsWith('.cjs') && path.join(buildDir, f) !== out) {
        await fs.rm(path.join(buildDir, f), { force: true });
      }
    }
  }
  return out;
}

/** The first stack frame inside the block file, as 1-based line and column. */
export function locateInStack(stack: string | undefined, sourceFile: string): { line: number; column: number } | undefined {
  if (!stack) return undefined;
  for (const frame of stack.split('\n')) {
    const at = frame.indexOf(sourceFile + ':');
    if (at < 0) continue;
    const [line, column] = frame.slice(at + sourceFile.length + 1).split(':').map((x) => parseInt(x, 10));
    if (line !== undefined && Number.isFinite(line)) return { line, column: column !== undefined && Number.isFinite(column) ? column : 1 };
  }
  return undefined;
}
