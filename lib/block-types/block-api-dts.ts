/**
 * The block API (lib/kernel/block-api.ts) as global declarations: what Monaco offers TypeScript
 * blocks as intellisense and what a new project's grimoire.d.ts holds. Derived from the kernel's
 * own file at run time, so the editor can never drift from what blocks are checked against.
 */
export function blockApiGlobals(source: string): string {
  const start = source.search(/^export /m);
  const body = start < 0 ? source : source.slice(start);
  // A module's `import type` lines would make the declarations module-scoped again.
  const lines = body.split('\n').filter((l) => !/^import\s/.test(l));
  return `// The block API of Grimoire, as globals for TypeScript blocks.\n${lines.join('\n').replace(/^export (declare )?/gm, '')}`;
}
