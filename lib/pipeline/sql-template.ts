import nunjucks from 'nunjucks';
import { type JsonValue } from './model';
import { templateSecretVar } from './secret-ref';

export interface SqlTemplateContext {
  /** Table names of the upstream outputs, in `upstream_blocks` order: `{{ df_1 }}` is the first. */
  upstream: readonly { uuid: string; table: string }[];
  variables: Readonly<Record<string, JsonValue>>;
  executionDate: string;
  /** Extra names a host offers (e.g. `data_dir`, `env_var`). */
  extra?: Readonly<Record<string, unknown>>;
  /** Workspace secrets by name, for `{{ mage_secret_var('NAME') }}`; none when absent. */
  secrets?: Readonly<Record<string, string>>;
}

export class SqlTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlTemplateError';
  }
}

// No loader: a block's SQL can never include or import files through the template engine.
const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, trimBlocks: false });

/**
 * Templates by their text, compiled on first render: a block runs the same SQL many times (retries,
 * re-runs, every run of a kernel), and compiling costs more than rendering. Bounded: a kernel
 * that saw many texts starts over.
 */
const compiled = new Map<string, nunjucks.Template>();
function templateOf(text: string): nunjucks.Template {
  let template = compiled.get(text);
  if (!template) {
    if (compiled.size >= 256) compiled.clear();
    template = new nunjucks.Template(text, env);
    compiled.set(text, template);
  }
  return template;
}

/**
 * Renders a SQL block with Jinja semantics (nunjucks): `{{ df_1 }}`, `{{ my_upstream }}`,
 * `{{ variables('name') }}`, `{{ execution_date }}`, `{{ ds }}`, `{{ mage_secret_var('NAME') }}`.
 * Throws SqlTemplateError with the cause (an unknown name, variable or secret) in its message.
 */
export function renderSqlTemplate(text: string, ctx: SqlTemplateContext): string {
  const names: Record<string, unknown> = { ...ctx.extra };
  ctx.upstream.forEach((u, i) => {
    names[`df_${i + 1}`] = u.table;
    names[u.uuid] = u.table;
  });
  names.execution_date = ctx.executionDate;
  names.ds = ctx.executionDate.slice(0, 10);
  names.variables = (name?: unknown, fallback?: unknown) => {
    if (name === undefined) return ctx.variables;
    if (typeof name !== 'string') throw new Error('variables() takes a variable name');
    if (Object.hasOwn(ctx.variables, name)) return ctx.variables[name];
    if (fallback !== undefined) return fallback;
    throw new Error(`variable "${name}" is not set (pipeline variables: ${Object.keys(ctx.variables).join(', ') || 'none'})`);
  };
  names.mage_secret_var = templateSecretVar(ctx.secrets ?? {});
  try {
    return templateOf(text).render(names);
  } catch (e) {
    const raw = e instanceof Error ? e.message : String(e);
    // nunjucks prefixes "(unknown path) [Line 3, Column 9]\n  Error: ..."; its line is not reliable
    // for errors raised inside functions, so only the message is kept.
    let message = raw
      .replace(/^\(unknown path\)\s*(\[Line \d+, Column \d+\])?\s*/, '')
      .replace(/^\s*(Template render error:|Error:)\s*/g, '')
      // The class name of an error raised inside a function (ObjectPathError: ...) says nothing more.
      .replace(/^[A-Za-z]*Error:\s*/, '')
      .trim();
    if (message.includes('attempted to output null or undefined')) {
      const tables = ctx.upstream.map((u, i) => `df_${i + 1} = ${u.uuid}`).join(', ') || 'none';
      message = `a {{ name }} is not defined (upstream tables: ${tables}; variables are read with variables('name'))`;
    }
    throw new SqlTemplateError(`template error: ${message}`);
  }
}
