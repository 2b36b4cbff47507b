import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic-write';

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
  const record = path.join(buildDir, `${uuid}.build.json`);
  const reused = await unchangedBuild(record);
  if (reused) return reused;
  let code: string;
  let inputs: string[];
  try {
    // Bundled so that relative imports (a project's utils/) resolve from the block's own folder;
    // packages stay external and resolve from the project upwards at run time.
    // esbuild takes its default working folder once, when it is loaded: a kernel started ahead of
    // need (standby.ts) moved to its project after that, so the folder is said each time.
    const workingDir = process.cwd();
    const result = await build({
      absWorkingDir: workingDir,
      entryPoints: [sourceFile],
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: 'inline',
      write: false,
      metafile: true,
      outfile: path.join(buildDir, `${uuid}.cjs`),
      logLevel: 'silent',
    });
    code = result.outputFiles[0]?.text ?? '';
    inputs = Object.keys(result.metafile.inputs).map((f) => path.resolve(workingDir, f));
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
    await writeFileAtomic(out, code);
    // Older builds of this block are dead weight once a new one exists.
    for (const f of await fs.readdir(buildDir)) {
      if (f.startsWith(`${uuid}.`) && f.endsWith('.cjs') && path.join(buildDir, f) !== out) {
        await fs.rm(path.join(buildDir, f), { force: true });
      }
    }
  }
  await writeBuildRecord(record, out, inputs);
  return out;
}

/** What a build was made from: every file esbuild read (the block and its relative imports), by content. */
const buildRecordSchema = z.object({ out: z.string(), inputs: z.array(z.object({ file: z.string(), sha1: z.string() })) });

async function sha1Of(file: string): Promise<string> {
  return createHash('sha1').update(await fs.readFile(file)).digest('hex');
}

async function writeBuildRecord(record: string, out: string, inputs: readonly string[]): Promise<void> {
  const entries = await Promise.all(inputs.map(async (file) => ({ file, sha1: await sha1Of(file) })));
  await writeFileAtomic(record, JSON.stringify({ out, inputs: entries }));
}

/**
 * The previous build, when none of the files it was made from changed: hashing a few small files
 * costs far less than a build (esbuild's service start alone is ~20 ms, then ~10 ms a block).
 */
async function unchangedBuild(record: string): Promise<string | null> {
  try {
    const parsed = buildRecordSchema.safeParse(JSON.parse(await fs.readFile(record, 'utf8')));
    if (!parsed.success || parsed.data.inputs.length === 0) return null;
    await fs.access(parsed.data.out);
    for (const input of parsed.data.inputs) if ((await sha1Of(input.file)) !== input.sha1) return null;
    return parsed.data.out;
  } catch {
    // No record yet, or a file it names is gone: build.
    return null;
  }
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
