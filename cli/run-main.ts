/**
 * How every command-line entry point of this repository begins and ends.
 * `parseCommandLine` reads its arguments, or ends it at once on a mistake or
 * `--help`. At the end, `main(argv)` resolves with the exit status, or
 * rejects, and a rejection is printed on stderr with exit status 1. An error the command expects to end on (one of
 * the `expected` classes) is printed as its message alone; any other with its
 * stack, since it is a bug to look into. `process.exitCode` is set rather than
 * `process.exit` called, so output still being written is not cut off.
 *
 * ```ts
 * if (isEntryPoint(import.meta)) void runMain(main, { expected: [ServeError] });
 * ```
 */
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** An error class, as `instanceof` takes it. */
export type ErrorClass = abstract new (...args: never[]) => Error;

export interface RunMainOptions {
  /** @default process.argv.slice(2) */
  readonly argv?: readonly string[];
  /**
   * The errors the command expects to end on (a failed step, a start that
   * could not be done): printed without their stack. `[Error]` for all.
   * @default - none: every error is printed with its stack
   */
  readonly expected?: readonly ErrorClass[];
  /** Printed before the error, e.g. `'New-user flow FAILED: '`. @default '' */
  readonly prefix?: string;
}

/** Runs `main` and sets `process.exitCode`; resolves once that is done, never rejects. */
export async function runMain(
  main: (argv: string[]) => Promise<number>,
  options: RunMainOptions = {},
): Promise<void> {
  try {
    process.exitCode = await main([...(options.argv ?? process.argv.slice(2))]);
  } catch (error) {
    process.stderr.write(`${options.prefix ?? ''}${describe(error, options.expected ?? [])}\n`);
    process.exitCode = 1;
  }
}

/**
 * Whether the module of `meta` is the script node was started with (`node
 * file`, `tsx file`), not one that something else imported.
 */
export function isEntryPoint(meta: ImportMeta): boolean {
  const script = process.argv[1];
  return script !== undefined && resolve(script) === meta.filename;
}

function describe(error: unknown, expected: readonly ErrorClass[]): string {
  if (!(error instanceof Error)) return String(error);
  if (expected.some((type) => error instanceof type)) return error.message;
  return error.stack ?? error.message;
}

/**
 * The first step of a script's `main`: `parse` its arguments. A mistake is
 * printed with the usage (unless `showUsage` says it would not help) and ends
 * the script with status 2; `--help` prints the usage and ends it with 0.
 * Answers the arguments, or the status to end with.
 *
 * ```ts
 * const args = parseCommandLine(argv, parse, USAGE);
 * if (typeof args === 'number') return args;
 * ```
 */
export function parseCommandLine<T extends { readonly help: boolean }>(
  argv: string[],
  parse: (argv: string[]) => T,
  usage: string,
  showUsage: (error: unknown) => boolean = () => true,
): T | number {
  let args: T;
  try {
    args = parse(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${message}\n${showUsage(error) ? `\n${usage}\n` : ''}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return args;
}

type FlagOptions = NonNullable<ParseArgsConfig['options']>;
type Flags<O extends FlagOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: O }>
>['values'];

/**
 * A script's options parsed the strict way: an unknown flag or a stray
 * argument is an error. Answers their values.
 */
export function parseFlags<const O extends FlagOptions>(argv: string[], options: O): Flags<O> {
  return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values;
}
