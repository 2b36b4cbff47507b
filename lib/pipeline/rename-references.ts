/**
 * After a block is renamed, the code that names it follows: SQL's `{{ old }}` and `FROM old`,
 * TypeScript's `function old(` and an argument named after the upstream. Only these shapes are
 * rewritten, so a uuid that is also an ordinary word elsewhere in the code stays untouched.
 */
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function renameReferences(text: string, language: 'sql' | 'typescript', from: string, to: string): string {
  const name = escape(from);
  if (language === 'sql') {
    return text
      .replace(new RegExp(`\\{\\{(\\s*)${name}(\\s*)\\}\\}`, 'g'), `{{$1${to}$2}}`)
      .replace(new RegExp(`\\b(FROM|JOIN)(\\s+)${name}\\b`, 'gi'), `$1$2${to}`);
  }
  return text
    .replace(new RegExp(`\\bfunction(\\s+)${name}(\\s*)\\(`, 'g'), `function$1${to}$2(`)
    .replace(new RegExp(`\\bDataFrame<(\\s*)(['"])${name}\\2(\\s*)>`, 'g'), `DataFrame<$1$2${to}$2$3>`)
    .replace(new RegExp(`(?<![.'"\`\\w$])${name}(?=\\s*[:.,)}]|\\s*\\?\\.)`, 'g'), to)
    .replace(new RegExp(`\\$\\{(\\s*)${name}(\\s*)\\}`, 'g'), `\${$1${to}$2}`);
}
