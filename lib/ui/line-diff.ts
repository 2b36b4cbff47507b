import { diffLines } from 'diff';

/** One line of a line diff: in both texts, only in the first (`removed`), or only in the second (`added`). */
export interface DiffLine {
  kind: 'same' | 'removed' | 'added';
  text: string;
}

/** The lines of `text`, without the empty one after a final newline. */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * A line-by-line diff from `before` to `after` (jsdiff's Myers diff), one entry per line, in
 * order. A missing final newline is not told apart from a present one. Pure.
 */
export function lineDiff(before: string, after: string): DiffLine[] {
  const out: DiffLine[] = [];
  for (const change of diffLines(before, after)) {
    const kind = change.added ? 'added' : change.removed ? 'removed' : 'same';
    for (const text of linesOf(change.value)) out.push({ kind, text });
  }
  return out;
}

/** How many lines were added and removed. Pure. */
export function diffCounts(lines: readonly DiffLine[]): { added: number; removed: number } {
  return { added: lines.filter((l) => l.kind === 'added').length, removed: lines.filter((l) => l.kind === 'removed').length };
}
