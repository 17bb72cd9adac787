/**
 * The options of `npm start` (and of any command that serves the local cloud
 * the same way, such as `eventjobs dev`): their parse configuration, their
 * validation, the usage text, and the check for options npm took for itself.
 *
 * A command with options of its own parses `{ ...SERVE_OPTIONS, ...its own }`
 * with `parseArgs`, hands the values to `serveArgsFromValues`, and lists its
 * options with `serveUsage({ options })`.
 */
import { parseArgs } from 'node:util';
import { type ChaosRule, parseChaos } from '../local/chaos';
import { shellWord } from './serve-messages';

/** The `parseArgs` configuration of the serve options. */
export const SERVE_OPTIONS = {
  port: { type: 'string', default: '3000' },
  'aws-port': { type: 'string', default: '4566' },
  data: { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  logs: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'time-scale': { type: 'string', default: '1' },
  'schedule-scale': { type: 'string' },
  assembly: { type: 'string', default: 'cdk.out' },
  stack: { type: 'string' },
  'no-synth': { type: 'boolean', default: false },
  chaos: { type: 'string' },
  'chaos-seed': { type: 'string' },
  secret: { type: 'string', multiple: true },
  help: { type: 'boolean', default: false },
} as const;

type OptionsConfig = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

/** What `parseArgs` answers for `SERVE_OPTIONS` (a superset, with a caller's options, fits too). */
export type ServeArgValues = ReturnType<
  typeof parseArgs<{ options: typeof SERVE_OPTIONS; strict: true; allowPositionals: false }>
>['values'];

/** The serve options, validated. */
export interface ServeArgs {
  readonly port: number;
  readonly awsPort: number;
  readonly data?: string;
  readonly dynamodbEndpoint?: string;
  readonly logs?: string;
  readonly quiet: boolean;
  readonly timeScale: number;
  readonly scheduleScale?: number;
  readonly assembly: string;
  readonly stack?: string;
  readonly noSynth: boolean;
  readonly chaos?: readonly ChaosRule[];
  readonly chaosSeed?: number;
  readonly secretValues: Readonly<Record<string, string>>;
  readonly help: boolean;
}

/**
 * Options npm kept for itself: `npm start --port 3202` without `--`. The
 * message says what to type instead; it is a usage error (exit status 2).
 */
export class NpmSwallowedOptionsError extends Error {
  override readonly name = 'NpmSwallowedOptionsError';
}

/** One line of the usage text: the flags, and a description (`\n` continues it on the next line). */
export type UsageLine = readonly [flags: string, description: string];

const SERVE_USAGE: readonly UsageLine[] = [
  ['--port N', 'API port (default 3000; 0 picks a free one)'],
  ['--aws-port N', 'AWS endpoint port for the functions (default 4566; 0 picks a free one)'],
  ['--data DIR', 'keep DynamoDB state in DIR across restarts (default: in memory)'],
  [
    '--dynamodb-endpoint URL',
    'use an external DynamoDB-compatible endpoint instead of the embedded one',
  ],
  ['--logs DIR', 'also write one log file per function to DIR'],
  ['--quiet', 'do not print function logs to the terminal'],
  ['--time-scale X', "multiply AWS's own waits (retry backoff, schedules) by X (default 1)"],
  [
    '--schedule-scale X',
    "multiply rule schedule rates by X, and run the template's Scheduler schedules\non a clock 1/X times as fast (default: the time scale)",
  ],
  ['--assembly DIR', 'the cloud assembly to run (default cdk.out)'],
  ['--stack NAME', 'the stack to run, if the assembly has several'],
  ['--no-synth', 'never run cdk synth; use the assembly as it is'],
  [
    '--chaos SPEC',
    'inject faults, e.g. crash:Worker=0.05,hang:Worker=0.02,duplicate=0.05,\ncrash:Completion=0.05,put-events-failure=0.02 (see local/README.md)',
  ],
  ['--chaos-seed N', 'seed the chaos draws, to replay a run (default: random, printed)'],
  [
    '--secret ID=VALUE',
    "the value of the template's secret ID (logical id or name); repeatable.\nDefault: generated once and kept in .eventjobs/secrets.json (or DIR/secrets.json\nwith --data)",
  ],
];

/** The flags column: `  --dynamodb-endpoint URL  ` is the widest of today's. */
const FLAGS_WIDTH = 25;

/**
 * The usage text: `command` first (default `npm start -- [options]`), then the
 * serve options, then a caller's own `options`, then `--help`.
 */
export function serveUsage(
  settings: { readonly command?: string; readonly options?: readonly UsageLine[] } = {},
): string {
  const lines = [...SERVE_USAGE, ...(settings.options ?? []), ['--help', 'show this'] as const];
  const indent = ' '.repeat(2 + FLAGS_WIDTH);
  const body = lines.map(([flags, description]) => {
    const [first = '', ...rest] = description.split('\n');
    return [`  ${flags.padEnd(FLAGS_WIDTH - 1)} ${first}`, ...rest.map((line) => indent + line)]
      .join('\n')
      .replace(/ +$/gm, '');
  });
  return `Usage: ${settings.command ?? 'npm start -- [options]'}\n\n${body.join('\n')}`;
}

/** `npm start`'s usage text. */
export const USAGE = serveUsage();

/**
 * Parses and validates the serve options. Throws `NpmSwallowedOptionsError`
 * when npm took some of them (see `npmSwallowedOptions`), and an Error with a
 * one-line message for anything else wrong; both are usage errors.
 */
export function parseServeArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ServeArgs {
  const swallowed = npmSwallowedOptions(argv, env);
  if (swallowed) throw new NpmSwallowedOptionsError(swallowed);
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: SERVE_OPTIONS,
  });
  return serveArgsFromValues(values);
}

/** Validates parsed values; throws an Error whose message names the option and the bad value. */
export function serveArgsFromValues(values: ServeArgValues): ServeArgs {
  const timeScale = scale('time-scale', values['time-scale']);
  const scheduleScale =
    values['schedule-scale'] === undefined
      ? undefined
      : scale('schedule-scale', values['schedule-scale']);
  if (values.data && values['dynamodb-endpoint']) {
    throw new Error('--data and --dynamodb-endpoint cannot be used together');
  }
  if (values['dynamodb-endpoint'] && !/^https?:\/\/[^\s]+$/.test(values['dynamodb-endpoint'])) {
    throw new Error(
      `--dynamodb-endpoint must be an http(s) URL, got "${values['dynamodb-endpoint']}"`,
    );
  }
  const chaos = values.chaos === undefined ? undefined : parseChaos(values.chaos);
  let chaosSeed: number | undefined;
  if (values['chaos-seed'] !== undefined) {
    chaosSeed = Number(values['chaos-seed']);
    if (!Number.isInteger(chaosSeed) || chaosSeed < 0 || chaosSeed > 2 ** 32 - 1) {
      throw new Error(
        `--chaos-seed must be an integer from 0 to 4294967295, got "${values['chaos-seed']}"`,
      );
    }
    if (!chaos) throw new Error('--chaos-seed needs --chaos');
  }
  const secretValues: Record<string, string> = {};
  for (const pair of values.secret ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--secret takes ID=VALUE, got "${pair}"`);
    secretValues[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    secretValues,
    chaos,
    chaosSeed,
    port: port('port', values.port),
    awsPort: port('aws-port', values['aws-port']),
    data: values.data,
    dynamodbEndpoint: values['dynamodb-endpoint'],
    logs: values.logs,
    quiet: values.quiet,
    timeScale,
    scheduleScale,
    assembly: values.assembly,
    stack: values.stack,
    noSynth: values['no-synth'],
    help: values.help,
  };
}

function port(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`--${name} must be a port number from 0 to 65535, got "${raw}"`);
  }
  return value;
}

function scale(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 1000) {
    throw new Error(`--${name} must be a number above 0 and at most 1000, got "${raw}"`);
  }
  return value;
}

/** An option npm took for itself. */
interface TakenOption {
  readonly name: string;
  /** How npm recorded it, e.g. `npm_config_port=3202`. */
  readonly setting: string;
  /** A string option's value; undefined for a boolean, or when npm recorded only `true`. */
  readonly value?: string;
  /** A string option whose value npm 11 passed on as an argument. */
  readonly lostValue: boolean;
}

/**
 * `npm start --port 3202` (no `--`) gives the option to npm, not to us: npm
 * up to 10 sets `npm_config_port=3202` and we would silently serve on 3000;
 * npm 11 sets `npm_config_port=true` and passes `3202` on as an argument. When
 * the process runs under npm (`npm_lifecycle_event` is set) and such a
 * variable names one of `options` that argv does not have, this answers a
 * message with the command that was meant; otherwise undefined. (`--quiet` is
 * npm's own `--loglevel warn` and cannot be told apart from a setting.)
 */
export function npmSwallowedOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  options: OptionsConfig = SERVE_OPTIONS,
): string | undefined {
  const event = env.npm_lifecycle_event;
  if (!event) return undefined;
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const given = new Set(tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : [])));
  const taken: TakenOption[] = [];
  for (const [name, config] of Object.entries(options)) {
    if (name === 'help' || given.has(name)) continue;
    // `--no-synth` reaches npm as `synth` set to false.
    const negated = name.startsWith('no-') && config.type === 'boolean';
    const variable = `npm_config_${(negated ? name.slice(3) : name).replaceAll('-', '_')}`;
    const value = env[variable];
    if (value === undefined) continue;
    const setting = `${variable}=${value}`;
    if (config.type === 'boolean') {
      const isFalse = value === '' || value === 'false';
      if (negated === isFalse) taken.push({ name, setting, lostValue: false });
    } else if (value === 'true') {
      taken.push({ name, setting, lostValue: true });
    } else {
      taken.push({ name, setting, value, lostValue: false });
    }
  }
  if (taken.length === 0) return undefined;
  const positionals = tokens.flatMap((token) => (token.kind === 'positional' ? [token] : []));
  return swallowedMessage(event, taken, positionals, argv);
}

function swallowedMessage(
  event: string,
  taken: readonly TakenOption[],
  positionals: readonly { readonly value: string; readonly index: number }[],
  argv: readonly string[],
): string {
  // npm 11 passes the values on as arguments; with one option and one argument the pair is certain.
  const lost = taken.filter((option) => option.lostValue);
  const paired = lost.length === 1 && positionals.length === 1 ? positionals[0] : undefined;
  // Arguments that are values npm separated from their options are in the flags already.
  const stray = new Set(lost.length > 0 ? positionals.map((token) => token.index) : []);
  const rest = argv.filter((_, index) => !stray.has(index));
  const flags = taken.map((option) => {
    if (option.lostValue) return `--${option.name} ${paired ? shellWord(paired.value) : 'VALUE'}`;
    return option.value === undefined
      ? `--${option.name}`
      : `--${option.name} ${shellWord(option.value)}`;
  });
  const npm = ['start', 'stop', 'test', 'restart'].includes(event)
    ? `npm ${event}`
    : `npm run ${event}`;
  const names = taken.map((option) => `--${option.name}`).join(', ');
  const settings = taken.map((option) => option.setting).join(', ');
  const lines = [
    `npm took ${names} for itself (${settings}); the local cloud's options go after --.`,
    `did you mean: ${npm} -- ${[...flags, ...rest.map(shellWord)].join(' ')}?`,
  ];
  if (lost.length > 0 && !paired && positionals.length > 0) {
    const values = positionals.map((token) => token.value).join(' ');
    lines.push(`(npm passed ${values} on without their options: put each after its option.)`);
  }
  return lines.join('\n');
}
