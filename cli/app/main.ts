/**
 * The app commands of `eventjobs`: `init`, `dev` and `types`. They work on an
 * app's folder (its cdk.json, its job types) rather than on the jobs API.
 */
import { parseArgs } from 'node:util';
import { AppCommandError } from './errors';
import { initApp } from './init';

const HELP: Record<string, string> = {
  init: `Usage: eventjobs init [dir] [--from SPEC]

Scaffolds a new eventjobs app in dir (default: the current folder, which must
be empty): package.json, cdk.json, tsconfig.json, src/app.ts (the stack),
src/jobs.ts (a job type named hello), test/jobs.test.ts and a README.

  --from SPEC   what the app depends on eventjobs as (default: where this
                eventjobs came from: the tarball or folder npm exec ran, else
                the registry version)`,
  types: `Usage: eventjobs types [--entry FILE] [--assembly DIR] [--json]

Lists the app's job types with their input schemas.

  --entry FILE     the job types module (default: the one the synthesized app names)
  --assembly DIR   the cloud assembly to read it from (default cdk.out)
  --json           one JSON document`,
};

export async function runAppCommand(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'init':
        return init(rest);
      case 'types':
        return await types(rest);
      case 'dev': {
        const { runDev } = await import('./dev');
        return await runDev(rest);
      }
      default:
        throw new AppCommandError(`unknown command ${String(command)}`, undefined, { exitCode: 2 });
    }
  } catch (error) {
    return report(error, command);
  }
}

function init(argv: string[]): number {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      options: { from: { type: 'string' }, help: { type: 'boolean', default: false } },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (positionals.length > 1) {
    throw new AppCommandError(`unexpected argument "${positionals[1]}"`, 'see --help', {
      exitCode: 2,
    });
  }
  if (values.help) return help('init');
  const dir = positionals[0] ?? '.';
  const result = initApp({
    dir,
    cwd: process.cwd(),
    env: process.env,
    ...(values.from === undefined ? {} : { from: values.from }),
  });
  const cd = dir === '.' ? '' : `  cd ${dir}\n`;
  process.stdout.write(
    `Created an eventjobs app in ${result.dir}:\n${result.files.map((f) => `  ${f}`).join('\n')}\n\n` +
      `eventjobs: ${result.eventjobsSpec}\n\nNext:\n${cd}  npm install\n  npm test\n  npm run dev\n`,
  );
  return 0;
}

async function types(argv: string[]): Promise<number> {
  const { values } = usage(() =>
    parseArgs({
      args: argv,
      options: {
        entry: { type: 'string' },
        assembly: { type: 'string', default: 'cdk.out' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }),
  );
  if (values.help) return help('types');
  const { formatJobTypes, listJobTypes } = await import('./types');
  const modules = listJobTypes({
    cwd: process.cwd(),
    assembly: values.assembly,
    ...(values.entry === undefined ? {} : { entry: values.entry }),
  });
  process.stdout.write(
    values.json ? `${JSON.stringify({ modules }, null, 2)}\n` : formatJobTypes(modules),
  );
  return 0;
}

/** Usage mistakes become exit 2 with a pointer to --help. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new AppCommandError((error as Error).message, 'see --help', { exitCode: 2 });
  }
}

function help(command: string): number {
  process.stdout.write(`${HELP[command] ?? ''}\n`);
  return 0;
}

function report(error: unknown, command: string | undefined): number {
  if (error instanceof AppCommandError) {
    process.stderr.write(`eventjobs ${command ?? ''}: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`eventjobs ${command ?? ''}: ${message}\n`);
  return 1;
}
