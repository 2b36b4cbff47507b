import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { findRoot, freshBundle } from '../../lib/bundle/fresh-bundle';

let root = '';
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'grimoire-bundle-'));
  await writeFile(path.join(root, 'package.json'), '{ "name": "grimoire" }\n');
  await mkdir(path.join(root, 'src'));
  await writeFile(path.join(root, 'src', 'greeting.ts'), "export const greeting: string = 'hello';\n");
  await writeFile(path.join(root, 'src', 'main.ts'), "import { greeting } from './greeting';\nprocess.stdout.write(greeting);\n");
});
after(async () => rm(root, { recursive: true, force: true }));

const runBundle = (file: string) => execFileSync(process.execPath, [file], { encoding: 'utf8' });

test('the root is found from any folder below it', () => {
  assert.equal(findRoot(path.join(root, 'src')), root);
  assert.equal(findRoot(path.join(__dirname, '..', '..', 'lib', 'kernel')), path.resolve(__dirname, '..', '..'));
});

test('a bundle is built once, reused while fresh, and rebuilt when any imported source changes', async () => {
  const file = freshBundle(root, 'src/main.ts', 'main');
  assert.equal(runBundle(file), 'hello');
  const built = (await stat(file)).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(freshBundle(root, 'src/main.ts', 'main'), file);
  assert.equal((await stat(file)).mtimeMs, built, 'not rebuilt while fresh');
  // An imported module (not the entry) changes: its mtime is newer than the bundle's.
  await writeFile(path.join(root, 'src', 'greeting.ts'), "export const greeting: string = 'bonjour';\n");
  const later = new Date(Date.now() + 2000);
  await utimes(path.join(root, 'src', 'greeting.ts'), later, later);
  assert.equal(runBundle(freshBundle(root, 'src/main.ts', 'main')), 'bonjour');
});

test('a package changes with npm: its old file times say nothing, the install record rebuilds the bundle; without the record each file counts', async () => {
  const pkg = path.join(root, 'node_modules', 'shout');
  await mkdir(pkg, { recursive: true });
  await writeFile(path.join(pkg, 'package.json'), '{ "name": "shout", "main": "index.js" }\n');
  await writeFile(path.join(pkg, 'index.js'), "exports.shout = (s) => s.toUpperCase();\n");
  await writeFile(path.join(root, 'src', 'loud.ts'), "import { shout } from 'shout';\nprocess.stdout.write(shout('hi'));\n");
  await writeFile(path.join(root, 'node_modules', '.package-lock.json'), '{}\n');
  const past = new Date('1985-10-26T08:15:00Z');
  await utimes(path.join(root, 'node_modules', '.package-lock.json'), past, past);
  assert.equal(runBundle(freshBundle(root, 'src/loud.ts', 'loud')), 'HI');
  // An upgrade, as npm extracts it: new contents with the tarball's fixed 1985 mtime.
  await writeFile(path.join(pkg, 'index.js'), "exports.shout = (s) => s.toUpperCase() + '!';\n");
  await utimes(path.join(pkg, 'index.js'), past, past);
  assert.equal(runBundle(freshBundle(root, 'src/loud.ts', 'loud')), 'HI', 'no install recorded yet: the bundle stands');
  const now = new Date(Date.now() + 2000);
  await utimes(path.join(root, 'node_modules', '.package-lock.json'), now, now);
  assert.equal(runBundle(freshBundle(root, 'src/loud.ts', 'loud')), 'HI!', 'npm rewrote its record: rebuilt');
  // No record (not installed by npm): the package's own file times decide.
  await rm(path.join(root, 'node_modules', '.package-lock.json'));
  await writeFile(path.join(pkg, 'index.js'), "exports.shout = (s) => s.toUpperCase() + '?';\n");
  const later = new Date(Date.now() + 4000);
  await utimes(path.join(pkg, 'index.js'), later, later);
  assert.equal(runBundle(freshBundle(root, 'src/loud.ts', 'loud')), 'HI?');
});

test('a source that does not compile throws (the caller falls back to tsx)', async () => {
  await writeFile(path.join(root, 'src', 'broken.ts'), 'export const = ;\n');
  assert.throws(() => freshBundle(root, 'src/broken.ts', 'broken'));
});

test('the bundle links its source map by its own name and leaves no build files behind', async () => {
  const file = freshBundle(root, 'src/main.ts', 'mapped');
  const text = await readFile(file, 'utf8');
  assert.match(text, /\/\/# sourceMappingURL=mapped\.cjs\.map\s*$/);
  const map: unknown = JSON.parse(await readFile(`${file}.map`, 'utf8'));
  assert.ok(map && typeof map === 'object' && 'sources' in map && Array.isArray(map.sources));
  assert.ok(map.sources.some((s: unknown) => typeof s === 'string' && s.endsWith('src/main.ts')), `sources: ${JSON.stringify(map.sources)}`);
  assert.deepEqual((await readdir(path.dirname(file))).filter((f) => f.includes('.tmp')), []);
});

test('a bundle run through the code-cache loader saves V8 code once, and a changed bundle runs right and gets a new cache', async () => {
  const file = freshBundle(root, 'src/main.ts', 'main');
  const loader = path.join(__dirname, '..', '..', 'lib', 'bundle', 'code-cache.js');
  const cache = `${file}.v8cache`;
  await rm(cache, { force: true });
  const expected = runBundle(file);
  assert.equal(execFileSync(process.execPath, [loader, file], { encoding: 'utf8' }), expected);
  const first = await stat(cache);
  assert.ok(first.size > 0, 'the first run saved its compiled code');
  assert.equal(execFileSync(process.execPath, [loader, file], { encoding: 'utf8' }), expected);
  assert.equal((await stat(cache)).mtimeMs, first.mtimeMs, 'a cache V8 accepted is not written again');
  await writeFile(file, `${await readFile(file, 'utf8')}\nprocess.stdout.write(' again');\n`);
  assert.equal(execFileSync(process.execPath, [loader, file], { encoding: 'utf8' }), `${expected} again`, 'the source decides, never a stale cache');
  assert.notEqual((await stat(cache)).mtimeMs, first.mtimeMs, 'a rejected cache is made anew');
});

test('a bundle that loads pg stays fresh once built, and loading pg does not load Node 20 fetch (undici)', async () => {
  // pg from the repository's own install, as the product's bundles take it.
  await mkdir(path.join(root, 'node_modules'), { recursive: true });
  await symlink(path.join(__dirname, '..', '..', 'node_modules', 'pg'), path.join(root, 'node_modules', 'pg'));
  await writeFile(
    path.join(root, 'src', 'pg-user.ts'),
    [
      "import pg from 'pg';",
      'const loaded: unknown = Reflect.get(process, "moduleLoadList");',
      "process.stdout.write(`${typeof pg.Client} ${Array.isArray(loaded) && loaded.some((m) => String(m).includes('undici')) ? 'undici' : 'no-undici'}`);",
      '',
    ].join('\n'),
  );
  const file = freshBundle(root, 'src/pg-user.ts', 'pg-user');
  assert.equal(runBundle(file), 'function no-undici', 'pg asked whether it runs on Cloudflare without making a Response');
  const built = (await stat(file)).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(freshBundle(root, 'src/pg-user.ts', 'pg-user'), file);
  assert.equal((await stat(file)).mtimeMs, built, 'fresh: what the bundle was made from holds only files that exist');
  const inputs: unknown = JSON.parse(await readFile(`${file}.inputs.json`, 'utf8'));
  assert.ok(Array.isArray(inputs) && inputs.length > 0 && inputs.every((f) => typeof f === 'string' && !f.startsWith('<')), JSON.stringify(inputs).slice(0, 300));
});

test('bundles are made again when lib/bundle/fresh-bundle.js in the root (how they are made) is newer than them, and only then', async () => {
  const maker = path.join(root, 'lib', 'bundle', 'fresh-bundle.js');
  await mkdir(path.dirname(maker), { recursive: true });
  await writeFile(maker, '// how bundles are made\n');
  const past = new Date(Date.now() - 60_000);
  await utimes(maker, past, past);
  // A source of its own: earlier cases left others with times in the future.
  await writeFile(path.join(root, 'src', 'plain.ts'), "process.stdout.write('plain');\n");
  const file = freshBundle(root, 'src/plain.ts', 'made');
  const built = (await stat(file)).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(freshBundle(root, 'src/plain.ts', 'made'), file);
  assert.equal((await stat(file)).mtimeMs, built, 'an older maker leaves the bundle alone');
  const later = new Date(Date.now() + 2000);
  await utimes(maker, later, later);
  assert.equal(runBundle(freshBundle(root, 'src/plain.ts', 'made')), 'plain');
  assert.notEqual((await stat(file)).mtimeMs, built, 'a newer maker: made again');
  await rm(path.join(root, 'lib'), { recursive: true, force: true });
});
