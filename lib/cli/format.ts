import { formatCount } from '../intl-format';

/** Human-readable figures for the terminal. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export { formatCount };

export function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** "a, b, c": the first `max` names, then how many more (a fan-out of 1,000 stays one line). */
export function nameList(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${formatCount(names.length - max)} more` : shown;
}

/**
 * What a dynamic block run fanned out to, as `grimoire run` prints it: the children of the first
 * block downstream of it by name, then how many each further block got (they inherit the fan-out):
 * "3 children: load_month:jan, load_month:feb, load_month:mar (+ 3 of clean_month)".
 */
export function fanOutText(children: readonly { name: string; block: string }[]): string {
  const byBlock = new Map<string, string[]>();
  for (const c of children) byBlock.set(c.block, [...(byBlock.get(c.block) ?? []), c.name]);
  const [first, ...rest] = [...byBlock.entries()];
  if (!first) return 'no items: nothing downstream runs';
  const [, names] = first;
  const more = rest.map(([block, n]) => `${formatCount(n.length)} of ${block}`);
  return `${formatCount(names.length)} ${names.length === 1 ? 'child' : 'children'}: ${nameList(names)}${more.length > 0 ? ` (+ ${more.join(', ')})` : ''}`;
}
