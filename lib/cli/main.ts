/** The `grimoire` command line (CONTRACTS.md): `start` and `run`. */
import { parseArgs } from 'node:util';
import { errorMessage, UserError } from '../errors';
import { PipelineInvalidError } from '../pipeline/issues';
import { removeLeftovers } from '../project/leftovers';
import path from 'node:path';
import { KernelStandby } from '../kernel/standby';
import { takeEarlyKernel } from './early-kernel';
import { queueNameProblem } from '../pipeline/executor-config';

const USAGE = `usage:
  grimoire start [--host 127.0.0.1] [--port 6789] [--projects ./projects] [--dev]
  grimoire run <project_path> <pipeline_uuid> [--runtime-vars '<json>'] [--timeout <seconds>] [--no-record] [--no-cache]
  grimoire worker [--projects ./projects] [--concurrency 2] [--queue <name>]... [--grace <seconds>]
  grimoire users add|list|remove|passwd|role [<name>] [--role owner|editor|viewer] [--projects ./projects]
  grimoire secrets set|list|remove [<NAME>] [--projects ./projects]
`;

/** `grimoire run` with its arguments (after `run`); `early` is the kernel bin/grimoire.js started, if any. */
async function run(args: string[], early: KernelStandby | undefined): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'runtime-vars': { type: 'string' }, timeout: { type: 'string' }, 'no-record': { type: 'boolean' }, 'no-cache': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [project, pipeline, ...extra] = positionals;
  if (!project || !pipeline || extra.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  // The kernel starts first (~0.33 s: Node, DuckDB's binding), while the modules the run needs
  // load here (~0.15 s): the two overlap instead of following each other.
  const standby = early ?? new KernelStandby({ cwd: path.resolve(project), once: true });
  standby.fill();
  try {
    const { runCommand } = await import('./run-command');
    // Temp files of writers that crashed in this project go, beside the run (never a live writer's).
    void removeLeftovers(project).catch((e: unknown) => process.stderr.write(`could not remove temp files left by a crash: ${errorMessage(e)}\n`));
    return (await runCommand(project, pipeline, { runtimeVars: values['runtime-vars'], timeout: values.timeout, record: !values['no-record'], useCache: !values['no-cache'], standby }, process.stdout)) ? 0 : 1;
  } finally {
    await standby.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      // bin/grimoire.js has usually started the run's kernel already, before this bundle loaded
      // (early-kernel.ts); it is ended here whatever happens, bad arguments included.
      const early = takeEarlyKernel();
      try {
        return await run(rest, early);
      } finally {
        await early?.close();
      }
    }
    case 'worker': {
      const { values } = parseArgs({
        args: rest,
        options: { projects: { type: 'string' }, concurrency: { type: 'string' }, queue: { type: 'string', multiple: true }, grace: { type: 'string' } },
        strict: true,
      });
      const concurrency = Number(values.concurrency ?? 2);
      if (!Number.isInteger(concurrency) || concurrency < 1) {
        process.stderr.write(`--concurrency must be a whole number >= 1, not "${values.concurrency}"\n`);
        return 2;
      }
      const grace = Number(values.grace ?? 30);
      if (!Number.isFinite(grace) || grace < 0) {
        process.stderr.write(`--grace must be a number of seconds >= 0, not "${values.grace}"\n`);
        return 2;
      }
      // `--queue heavy --queue default`, or `--queue heavy,default`.
      const queues = (values.queue ?? []).flatMap((q) => q.split(',')).map((q) => q.trim()).filter((q) => q.length > 0);
      for (const q of queues) {
        const problem = queueNameProblem(q);
        if (problem) {
          process.stderr.write(`--queue: ${problem}\n`);
          return 2;
        }
      }
      const { workerCommand } = await import('../scheduler/worker-command');
      await workerCommand(values.projects ?? process.env.GRIMOIRE_PROJECTS ?? 'projects', { concurrency, queues, graceMs: grace * 1000 });
      return -1;
    }
    case 'users': {
      const { usersCommand } = await import('./users-command');
      return usersCommand(rest);
    }
    case 'secrets': {
      const { secretsCommand } = await import('./secrets-command');
      return secretsCommand(rest, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    }
    case 'start': {
      const { values } = parseArgs({
        args: rest,
        options: {
          host: { type: 'string' },
          port: { type: 'string' },
          projects: { type: 'string' },
          dev: { type: 'boolean', default: false },
        },
        strict: true,
      });
      const port = Number(values.port ?? process.env.PORT ?? 6789);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`--port must be a number from 0 to 65535, not "${values.port}"\n`);
        return 2;
      }
      const { startServer } = await import('../server/start');
      await startServer({
        host: values.host ?? process.env.HOST ?? '127.0.0.1',
        port,
        projectsDir: values.projects ?? process.env.GRIMOIRE_PROJECTS ?? 'projects',
        dev: values.dev ?? false,
      });
      return -1;
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // -1: a server that keeps running until it is stopped.
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof PipelineInvalidError) process.stderr.write(`invalid pipeline:\n${e.message}\n`);
    else if (e instanceof UserError) process.stderr.write(`error: ${e.message}\n`);
    else if (e instanceof Error && 'code' in e && e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') process.stderr.write(`${e.message}\n${USAGE}`);
    else process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : errorMessage(e)}\n`);
    process.exitCode = 2;
  },
);
