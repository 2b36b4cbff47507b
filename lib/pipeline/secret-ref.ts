/**
 * Reading a workspace secret by name, as `{{ mage_secret_var('NAME') }}` (io_config.yaml, SQL) and
 * `ctx.secrets.get('NAME')` (TypeScript) do. Pure: the caller passes the values in.
 */

export class SecretNotSetError extends Error {
  constructor(readonly secret: string) {
    // The set names are not listed: listing secrets is an owner's right, and any editor sees this.
    super(`secret "${secret}" is not set (an owner sets it in Settings or with \`grimoire secrets set ${secret}\`)`);
    this.name = 'SecretNotSetError';
  }
}

/**
 * The value of secret `name` among `secrets` (name -> value). Throws SecretNotSetError naming it
 * when there is none, and a TypeError when `name` is not a string (a template's own mistake).
 */
export function lookupSecret(secrets: Readonly<Record<string, string>>, name: unknown): string {
  if (typeof name !== 'string') throw new TypeError('a secret is read by its name, a string');
  // Own properties only: "constructor" is a valid secret name, not Object's.
  const value = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
  if (value === undefined) throw new SecretNotSetError(name);
  return value;
}

/**
 * `mage_secret_var(name)` for a template engine: the value, or a plain Error naming the secret
 * (nunjucks prefixes the error's class name to its message; a plain Error's is stripped).
 */
export function templateSecretVar(secrets: Readonly<Record<string, string>>): (name?: unknown) => string {
  return (name?: unknown) => {
    try {
      return lookupSecret(secrets, name);
    } catch (e) {
      throw new Error(e instanceof Error ? e.message : String(e));
    }
  };
}
