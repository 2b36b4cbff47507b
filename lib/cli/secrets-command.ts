/**
 * `grimoire secrets set <NAME> | list | remove <NAME>`: the workspace's secrets, on the store of
 * the projects folder (`--projects`, GRIMOIRE_PROJECTS, default ./projects) in the database of
 * DATABASE_URL or the folder's embedded PostgreSQL (joined when running, started otherwise).
 * Values are read from stdin and never printed.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkSecretName, MAX_SECRET_LENGTH, workspaceSecretStore } from '../access/secret-store';
import { errorMessage, invalidInput, notFound, UserError } from '../errors';
import { readSecretInput } from './read-secret-input';
import { openWorkspaceStore, projectsDirOf } from './workspace-store';

export interface SecretsIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface SecretsCommandOptions {
  /** Where DATABASE_URL, GRIMOIRE_PROJECTS and GRIMOIRE_SECRET_KEY are read; process.env by default. */
  environment?: NodeJS.ProcessEnv;
  /** The store's schema; `grimoire start`'s own by default (tests use one of their own). */
  schema?: string;
}

const USAGE = `usage:
  grimoire secrets set <NAME> [--projects ./projects]     (the value is read from stdin)
  grimoire secrets list [--projects ./projects]           (names only)
  grimoire secrets remove <NAME> [--projects ./projects]
`;

type Parsed = { action: 'list'; projectsDir: string } | { action: 'set' | 'remove'; name: string; projectsDir: string };

/** The command line, checked before anything is opened; throws invalid_input with what is wrong. */
function parse(args: string[], environment: NodeJS.ProcessEnv): Parsed {
  let projects: string | undefined;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args, options: { projects: { type: 'string' } }, allowPositionals: true, strict: true });
    projects = parsed.values.projects;
    positionals = parsed.positionals;
  } catch (e) {
    throw invalidInput(errorMessage(e));
  }
  const [action, name, ...extra] = positionals;
  const projectsDir = path.resolve(projectsDirOf(projects, environment));
  if (extra.length > 0) throw invalidInput(`unexpected arguments: ${extra.join(' ')}`);
  switch (action) {
    case 'list':
      if (name !== undefined) throw invalidInput('secrets list takes no name');
      return { action, projectsDir };
    case 'set':
    case 'remove':
      if (name === undefined) throw invalidInput(`secrets ${action} needs a secret name`);
      return { action, name: checkSecretName(name), projectsDir };
    case undefined:
      throw invalidInput('say what to do: set, list or remove');
    default:
      throw invalidInput(`unknown secrets command "${action}"`);
  }
}

/**
 * Runs `grimoire secrets <args>`. Resolves to the exit code: 0 done, 2 bad input (usage, a bad
 * name, an empty value, no such secret), 1 when the store or the key could not be used. Messages
 * go to `io.stderr`; `list` prints one name a line to `io.stdout`.
 */
export async function secretsCommand(args: string[], io: SecretsIo, options: SecretsCommandOptions = {}): Promise<number> {
  const environment = options.environment ?? process.env;
  let command: Parsed;
  let value = '';
  try {
    command = parse(args, environment);
    if (command.action === 'set') {
      // UTF-8 takes at most 4 bytes a character: past this, no decoding can fit the limit.
      value = await readSecretInput(`Value of ${command.name}: `, io, { whole: true, maxBytes: MAX_SECRET_LENGTH * 4 });
      if (value === '') throw invalidInput(`the value of ${command.name} is empty: pipe it in, e.g. printf %s "$VALUE" | grimoire secrets set ${command.name}`);
    }
  } catch (e) {
    io.stderr.write(`error: ${errorMessage(e)}\n${USAGE}`);
    return 2;
  }
  try {
    const workspace = await openWorkspaceStore(command.projectsDir, { environment, schema: options.schema });
    try {
      const secrets = workspaceSecretStore(workspace.store.pool, command.projectsDir, environment);
      const audit = workspace.access;
      switch (command.action) {
        case 'list':
          for (const s of await secrets.list()) io.stdout.write(`${s.name}\n`);
          break;
        case 'set':
          await secrets.set(command.name, value, 'cli');
          await audit.audit('cli', 'secret_set', command.name);
          io.stdout.write(`secret ${command.name} set\n`);
          break;
        case 'remove':
          if (!(await secrets.remove(command.name))) throw notFound(`there is no secret named ${command.name}`);
          await audit.audit('cli', 'secret_removed', command.name);
          io.stdout.write(`secret ${command.name} removed\n`);
          break;
      }
    } finally {
      await workspace.close();
    }
    return 0;
  } catch (e) {
    io.stderr.write(`error: ${errorMessage(e)}\n`);
    return e instanceof UserError && (e.code === 'invalid_input' || e.code === 'not_found') ? 2 : 1;
  }
}
