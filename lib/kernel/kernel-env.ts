/**
 * The environment a kernel process starts with. Blocks are user code: they see the machine's
 * environment (PATH, HOME, their own POSTGRES_* ...) but none of Grimoire's own credentials.
 */

/** The server's own connection settings: the metadata database and its password. */
const WITHHELD = new Set(['DATABASE_URL', 'TEST_DATABASE_URL', 'PGPASSWORD']);

/**
 * GRIMOIRE_* settings that tune the kernel itself and hold nothing secret: passed on by name.
 * Every other GRIMOIRE_* variable (GRIMOIRE_SECRET_KEY, GRIMOIRE_TOKEN, GRIMOIRE_OWNER_PASSWORD ...)
 * stays with the server.
 */
const KERNEL_SETTINGS = new Set(['GRIMOIRE_DUCKDB_MEMORY']);

/** True for a variable of the server's environment that a kernel must not inherit. */
export function withheldFromKernels(name: string): boolean {
  return WITHHELD.has(name) || (name.startsWith('GRIMOIRE_') && !KERNEL_SETTINGS.has(name));
}

/**
 * A kernel's environment: `defaults` (e.g. POSTGRES_* of the workspace database), overridden by the
 * server's environment `parent` minus what is withheld, overridden by `own` (what the host sets for
 * the kernel: GRIMOIRE_PROJECT_DIR, GRIMOIRE_DATA_DIR, GRIMOIRE_CACHE_DIR, GRIMOIRE_PIPELINE).
 */
export function kernelEnvironment(parent: NodeJS.ProcessEnv, defaults: Readonly<Record<string, string>>, own: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent };
  for (const name of Object.keys(env)) if (withheldFromKernels(name)) delete env[name];
  for (const [name, value] of Object.entries(defaults)) if (env[name] === undefined) env[name] = value;
  return Object.assign(env, own);
}
