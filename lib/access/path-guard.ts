/**
 * The one path guard: every file path that comes from a request, a socket message or a project's
 * own files is resolved here before it is read or written. It refuses `..` and `.` segments,
 * percent-encoded forms, absolute paths, backslashes, NUL and control characters, and a path whose
 * real location (after symlinks) leaves the root it was joined to. (Mage's path checks were added
 * per handler and skipped by one: CVE-2024-45188/45189/45190, #6063, #6134.)
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { invalidInput } from '../errors';
import { FOLDER_NAME_PATTERN } from '../pipeline/model';

/** Why a path segment is refused, or null when it is a plain name. Pure. */
export function segmentProblem(segment: string): string | null {
  if (segment === '') return 'an empty path segment';
  if (segment === '.' || segment === '..') return `a "${segment}" segment`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(segment)) return 'a NUL or control character';
  if (segment.includes('\\') || segment.includes('/')) return 'a path separator inside a name';
  if (/%[0-9a-fA-F]{2}/.test(segment)) return 'a percent-encoded character';
  if (segment.includes(':')) return 'a ":" (drive letters and streams are not paths here)';
  if (Buffer.byteLength(segment) > 255) return 'a name longer than 255 bytes';
  return null;
}

/** Splits a project-relative path ("data_loaders/load.ts") into checked segments; throws invalid_input. */
export function relativeSegments(relative: string): string[] {
  if (relative === '') throw invalidInput('the path is empty');
  if (relative.startsWith('/') || path.isAbsolute(relative)) throw invalidInput(`"${printable(relative)}" is an absolute path; paths are relative to the project`);
  const segments = relative.split('/');
  for (const s of segments) {
    const problem = segmentProblem(s);
    if (problem) throw invalidInput(`"${printable(relative)}" is not allowed: it has ${problem}`);
  }
  return segments;
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 200);
}

/** The real path of `full`'s deepest existing ancestor, with the rest appended (for files not made yet). */
function realLocation(full: string): string {
  const rest: string[] = [];
  let at = full;
  for (;;) {
    try {
      return path.join(realpathSync(at), ...rest.reverse());
    } catch (e) {
      const code = e instanceof Error && 'code' in e ? e.code : undefined;
      if (code === 'ENAMETOOLONG') throw invalidInput('the path is too long');
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const parent = path.dirname(at);
      if (parent === at) return full;
      rest.push(path.basename(at));
      at = parent;
    }
  }
}

const inside = (base: string, full: string) => full === base || full.startsWith(base + path.sep);

function contained(root: string, segments: readonly string[], shown: string): string {
  const base = path.resolve(root);
  const full = path.resolve(base, ...segments);
  if (!inside(base, full)) throw invalidInput(`"${printable(shown)}" leaves ${base}`);
  // Symlinks: the file's real location must stay under the root's real location.
  if (!inside(realLocation(base), realLocation(full))) throw invalidInput(`"${printable(shown)}" is a link that leaves its folder`);
  return full;
}

/**
 * Joins single names (a project, a pipeline) under a root: each must be a plain folder name
 * (letters, digits, _ . -) and the result must really be inside the root. Throws invalid_input.
 */
export function safeJoin(root: string, ...names: string[]): string {
  for (const name of names) {
    if (segmentProblem(name) !== null || !FOLDER_NAME_PATTERN.test(name) || name.includes('..')) {
      throw invalidInput(`"${printable(name)}" is not a valid name (letters, digits, _ . -; no path separators or "..")`);
    }
  }
  return contained(root, names, names.join('/'));
}

/** Resolves a root-relative path with slashes ("transformers/clean.ts") under the root. Throws invalid_input. */
export function guardPath(root: string, relative: string): string {
  return contained(root, relativeSegments(relative), relative);
}
