/**
 * The command line: `eventjobs [global options] <command> [arguments]`.
 * Parsed with node:util `parseArgs`, strictly: an unknown flag, a missing
 * value or a stray argument is a `UsageError` (exit 2).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors';
import {
  DEFAULT_BATCH_CONCURRENCY,
  MAX_BATCH_CONCURRENCY,
  MAX_BATCH_SIZE,
  MAX_ENTRY_ATTEMPTS,
} from './start-from';

export interface GlobalOptions {
  /** A deployed stack's API base URL; unset means the local cloud. */
  readonly url?: string;
  readonly region?: string;
  /** The deployed stack's WebSocket stream URL (`wss://`). */
  readonly streamUrl?: string;
  readonly json: boolean;
  /** False when `--no-color` was given (the terminal and NO_COLOR decide the rest). */
  readonly color: boolean;
  /** `--max-attempts`: attempts per request while the API answers throttling; unset is the client's default. */
  readonly maxAttempts?: number;
}

export type Command =
  | {
      readonly kind: 'start';
      readonly type: string;
      readonly name?: string;
      readonly input?: unknown;
      readonly timeoutSeconds?: number;
      readonly wait: boolean;
    }
  | {
      /** `start --from`: every line of an NDJSON file started, in batches. */
      readonly kind: 'startFrom';
      /** The file; `-` is stdin. */
      readonly from: string;
      readonly batchSize: number;
      readonly concurrency: number;
      /** Where failed lines are written; undefined is stderr. */
      readonly failures?: string;
    }
  | { readonly kind: 'status'; readonly name: string }
  | {
      readonly kind: 'list';
      readonly status?: string;
      readonly limit?: number;
      readonly all: boolean;
    }
  | { readonly kind: 'cancel'; readonly name: string }
  | {
      readonly kind: 'signal';
      readonly name: string;
      readonly signal: string;
      /** The payload; undefined sends none (the API takes it as null). */
      readonly payload?: unknown;
    }
  | {
      /** `replay <name>`: a new run of a finished job, with its input. */
      readonly kind: 'replay';
      /** The finished job. */
      readonly name: string;
      /** The new run's name (`--name`); undefined is a generated one. */
      readonly newName?: string;
      readonly wait: boolean;
    }
  | { readonly kind: 'watch'; readonly name: string }
  | { readonly kind: 'result'; readonly name: string }
  | {
      /** `dashboard`: serves the web page on 127.0.0.1 until Ctrl-C or SIGTERM. */
      readonly kind: 'dashboard';
      /** `--port`; undefined (or 0) is a free port. */
      readonly port?: number;
    }
  | {
      readonly kind: 'emit';
      readonly type: string;
      readonly requestId?: string;
      readonly input?: unknown;
      readonly owner?: string;
      readonly bus?: string;
    };

/** The command words; `startFrom` is `start` with `--from`. */
export type CommandName = Exclude<Command['kind'], 'startFrom'>;

export type Invocation =
  | { readonly kind: 'help'; readonly command?: CommandName }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly global: GlobalOptions; readonly command: Command };

type Options = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  region: { type: 'string' },
  'stream-url': { type: 'string' },
  json: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  'max-attempts': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies Options;

const COMMAND_OPTIONS = {
  start: {
    name: { type: 'string' },
    input: { type: 'string' },
    timeout: { type: 'string' },
    wait: { type: 'boolean' },
    from: { type: 'string' },
    'batch-size': { type: 'string' },
    concurrency: { type: 'string' },
    failures: { type: 'string' },
  },
  status: {},
  list: {
    status: { type: 'string' },
    limit: { type: 'string' },
    all: { type: 'boolean' },
  },
  cancel: {},
  signal: {},
  replay: {
    name: { type: 'string' },
    wait: { type: 'boolean' },
  },
  watch: {},
  result: {},
  dashboard: {
    port: { type: 'string' },
  },
  emit: {
    'request-id': { type: 'string' },
    input: { type: 'string' },
    owner: { type: 'string' },
    bus: { type: 'string' },
  },
} as const satisfies Record<CommandName, Options>;

const COMMANDS = Object.keys(COMMAND_OPTIONS) as CommandName[];

export const EXIT_CODES_HELP = `Exit codes:
  0  success; for watch, start --wait, replay --wait and result: the job SUCCEEDED
  1  the job FAILED (or an unexpected error in eventjobs itself)
  2  usage error (unknown command or flag, bad argument)
  3  the job was CANCELLED
  4  the job TIMED_OUT
  5  the API answered with an error (4xx, 5xx), or the event stream reported one;
     start --from: a line did not start
  6  cannot reach the target: local cloud not running, connection refused,
     no AWS credentials, or the event stream ended before the job did
  7  job not found (404)
  8  result: the job is still RUNNING
  130 interrupted (Ctrl-C)`;

const GLOBAL_HELP = `Usage: eventjobs [options] <command> [arguments]

Start, follow and manage eventjobs jobs over the HTTP API (SigV4-signed).

Commands:
  start <type>     start a job (POST /jobs); --wait follows it to the end
  start --from FILE
                   start every line of an NDJSON file, in batches (POST /jobs/batch)
  status <name>    show a job (GET /jobs/{name})
  list             list your jobs, newest first (GET /jobs)
  cancel <name>    ask a running job to stop (DELETE /jobs/{name})
  signal <name> <signal> [JSON|@FILE]
                   send a signal a job waits for (POST /jobs/{name}/signals/{signal})
  replay <name>    start a finished job again with its input (POST /jobs/{name}/replay);
                   --wait follows the new run to the end
  watch <name>     follow a job's events live until it ends
  result <name>    print a SUCCEEDED job's result JSON on stdout
  dashboard        serve a web page of your jobs on 127.0.0.1 (live, with cancel
                   and replay) until Ctrl-C; prints its URL
  emit <type>      put a Job Requested event on the default bus, for the reference
                   app's trigger (source eventjobs.example)

Options:
  --url URL         a deployed stack's API base URL (env EVENTJOBS_URL); credentials
                    from the standard AWS chain (env, SSO, profiles, instance roles)
  --region REGION   signing region (default: from the execute-api host, else AWS_REGION)
  --stream-url URL  the deployed stack's event stream, wss://... (stack output StreamUrl;
                    env EVENTJOBS_STREAM_URL); needed by watch and --wait with --url
  --json            machine-readable output: one JSON document on stdout
                    (watch and start --wait: one JSON object per line)
  --no-color        no colours and no progress bar (also: NO_COLOR, or stdout not a terminal)
  --max-attempts N  attempts per request while the API answers throttling (429, 503,
                    or API Gateway's 500), with backoff and Retry-After; default 5,
                    1 turns retrying off
  -h, --help        show help (eventjobs <command> --help for a command's)
  --version         print the version

Without --url, eventjobs talks to the local cloud (npm start), found through
.eventjobs/local.json in this directory or a parent (env EVENTJOBS_STATE_FILE
names another file).

${EXIT_CODES_HELP}`;

const COMMAND_HELP: Record<CommandName, string> = {
  start: `Usage: eventjobs start <type> [--name NAME] [--input JSON|@FILE] [--timeout SECONDS] [--wait]
       eventjobs start --from FILE|- [--batch-size N] [--concurrency N] [--failures FILE]

Starts a job of a registered type (sleep, echo, fail, flaky, hash, ...) and
prints its name and run id.

  --name NAME          the job's name (default: a generated one)
  --input JSON|@FILE   the job's input: JSON text, or @path to read it from a file (@- for stdin)
  --timeout SECONDS    the run's deadline in whole seconds (default: the type's own)
  --wait               then follow it like watch; the exit code reflects the outcome

With --from, starts every line of an NDJSON file (- for stdin), however large:
each line is a POST /jobs body, {"type":"echo","name":"a1","input":{...}};
blank lines are skipped. Lines are sent in batches (POST /jobs/batch) and read
only as fast as the batches are answered.

  --from FILE|-        the file of start requests, one JSON object per line
  --batch-size N       lines per batch, 1 to ${MAX_BATCH_SIZE} (default ${MAX_BATCH_SIZE}; a batch also stays under 3 MB)
  --concurrency N      batches in flight at once, 1 to ${MAX_BATCH_CONCURRENCY} (default ${DEFAULT_BATCH_CONCURRENCY})
  --failures FILE      write each line that did not start to FILE, as NDJSON
                       {"line","id","code","message","name"?} (default: stderr)

A line that fails for a reason of the moment (QueueFull, Throttled,
ServiceUnavailable) is sent again with backoff, up to ${MAX_ENTRY_ATTEMPTS} times. A line that is
not JSON is a failure and is not sent. On a terminal, a progress line on
stderr; at the end a summary (--json: one JSON object). Exits 0 when every
line started, 5 when any did not, 6 when the target cannot be reached.`,
  status: `Usage: eventjobs status <name>

Shows a job: status, type, attempt, progress, message, times and error.
Exits 0 whatever the job's status (see watch or result for that).`,
  list: `Usage: eventjobs list [--status STATUS] [--limit N] [--all]

Lists your jobs, newest first.

  --status STATUS  only RUNNING, SUCCEEDED, FAILED, CANCELLED or TIMED_OUT
  --limit N        jobs per page, 1 to 100 (default 20)
  --all            follow nextCursor to list every page`,
  cancel: `Usage: eventjobs cancel <name>

Asks a running job to stop. The job ends CANCELLED shortly after; follow it
with eventjobs watch <name>.`,
  signal: `Usage: eventjobs signal <name> <signal> [JSON|@FILE]

Sends a signal, with a JSON payload, to a job; a run waiting for it in
ctx.waitForSignal resumes with the payload. A queued or running job keeps the
signal until it waits for it.

  JSON|@FILE   the payload: JSON text, or @path to read it from a file (@- for stdin);
               none sends null

The first signal of a name wins: the same payload again is accepted as a
duplicate; a different one is refused (409 SignalConflict, exit 5).`,
  replay: `Usage: eventjobs replay <name> [--name NEW] [--wait]

Starts a finished job (SUCCEEDED, FAILED, CANCELLED or TIMED_OUT, and still
retained) again: a new run with the type, input, timeout and callback of its
latest run, started like eventjobs start (the same limits and queueing). The
new run shows "started by  replay of <name> (run <runId>)". Prints the new
run's name and run id.

  --name NEW   the new run's name; it may be the job's own (default: a generated one)
  --wait       then follow the new run like watch; the exit code reflects its outcome

A job that is still RUNNING or QUEUED is refused (409 JobStillRunning, exit 5);
one that never ran, or whose outcome has expired, is not found (exit 7).`,
  watch: `Usage: eventjobs watch <name>

Follows a job's lifecycle events (a live progress bar on a terminal) until it
ends; the exit code reflects the outcome (0 SUCCEEDED, 1 FAILED, 3 CANCELLED,
4 TIMED_OUT). With --url, needs --stream-url (or EVENTJOBS_STREAM_URL).`,
  emit: `Usage: eventjobs emit <type> [--request-id ID] [--input JSON|@FILE] [--owner ARN] [--bus NAME]

Puts one event on an EventBridge bus, as any publisher would, for the reference
app's trigger (AsyncJobs.startOn): source eventjobs.example, detail-type
Job Requested, detail {type, requestId, input, owner}. The trigger starts a
job of that type named after the request id, owned by the owner. Prints the
request id and the event id; then \`eventjobs status <request id>\`.

  --request-id ID      the job's name (default: a generated one)
  --input JSON|@FILE   the job's input (default {})
  --owner ARN          who owns the job (default: the local cloud's identity, the
                       one status then signs as; required with --url)
  --bus NAME           the bus (default: the account's default bus)`,
  dashboard: `Usage: eventjobs dashboard [--port N]

Serves the dashboard, a web page of your jobs (list, filters, outcome counts,
each job's timeline, cancel, replay, live updates), on 127.0.0.1, and prints
its URL. The URL carries a token made for this start: open it as printed.
Requests are signed here, with the credentials the other commands use; none
reaches the browser. Runs until Ctrl-C or SIGTERM. See docs/dashboard.md.

  --port N   the port on 127.0.0.1, 0 to 65535 (default 0: a free one)

With --url, live updates need --stream-url (or EVENTJOBS_STREAM_URL); --json
prints {"url","port","live"} on one line.`,
  result: `Usage: eventjobs result <name>

Prints the result JSON of a SUCCEEDED job on stdout, for piping. Otherwise
prints why not on stderr and exits 1 (FAILED), 3 (CANCELLED), 4 (TIMED_OUT)
or 8 (still RUNNING).`,
};

/** The help text for a command, or the global one. */
export function helpText(command?: CommandName): string {
  if (command === undefined) return GLOBAL_HELP;
  return `${COMMAND_HELP[command]}\n\nGlobal options: --url, --region, --stream-url, --json, --no-color, --max-attempts (eventjobs --help)`;
}

export interface ParseDeps {
  /** Reads the file named by `--input @FILE` (`-` is stdin). */
  readonly readFile: (path: string) => string;
}

export function isCommand(value: string | undefined): value is CommandName {
  return value !== undefined && (COMMANDS as string[]).includes(value);
}

function strictParse(args: readonly string[], options: Options, command?: CommandName) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    // parseArgs' messages are good but long-winded about '--' escapes; keep the first sentence.
    const message = error instanceof Error ? error.message.split('. ')[0] : String(error);
    throw new UsageError(message ?? 'invalid arguments', command);
  }
}

export function parseCommandLine(argv: readonly string[], deps: ParseDeps): Invocation {
  // First pass, with every command's options, only to find the command.
  const allOptions: Options = { ...GLOBAL_OPTIONS };
  for (const options of Object.values(COMMAND_OPTIONS)) Object.assign(allOptions, options);
  const first = strictParse(argv, allOptions, argv.find(isCommand));
  const commandName = first.positionals[0];
  if (commandName === undefined) {
    if (first.values.version) return { kind: 'version' };
    if (first.values.help) return { kind: 'help' };
    throw new UsageError('a command is required');
  }
  if (!isCommand(commandName)) throw new UsageError(`unknown command "${commandName}"`);

  const { values, positionals } = strictParse(
    argv,
    { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[commandName] },
    commandName,
  );
  if (values.help) return { kind: 'help', command: commandName };
  if (values.version) return { kind: 'version' };

  const args = positionals.slice(1);
  const str = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const global: GlobalOptions = {
    url: nonEmpty(str('url'), '--url', commandName),
    region: nonEmpty(str('region'), '--region', commandName),
    streamUrl: nonEmpty(str('stream-url'), '--stream-url', commandName),
    json: values.json === true,
    color: values['no-color'] !== true,
    maxAttempts: positiveInteger(str('max-attempts'), '--max-attempts', commandName),
  };

  switch (commandName) {
    case 'start': {
      const from = str('from');
      if (from !== undefined) {
        return { kind: 'run', global, command: parseStartFrom(from, args, values, str) };
      }
      for (const flag of ['batch-size', 'concurrency', 'failures']) {
        if (values[flag] !== undefined) {
          throw new UsageError(`--${flag} goes with --from`, commandName);
        }
      }
      const [type] = exactly(args, ['type'], commandName);
      return {
        kind: 'run',
        global,
        command: {
          kind: 'start',
          type,
          name: nonEmpty(str('name'), '--name', commandName),
          input: parseJsonArgument(str('input'), '--input', commandName, deps),
          timeoutSeconds: positiveInteger(str('timeout'), '--timeout', commandName),
          wait: values.wait === true,
        },
      };
    }
    case 'list': {
      exactly(args, [], commandName);
      return {
        kind: 'run',
        global,
        command: {
          kind: 'list',
          status: str('status')?.toUpperCase(),
          limit: positiveInteger(str('limit'), '--limit', commandName),
          all: values.all === true,
        },
      };
    }
    case 'signal': {
      const [name, signal] = exactly(args.slice(0, 2), ['name', 'signal'], commandName);
      // The payload is optional: a third argument, and nothing after it.
      const [payload, extra] = args.slice(2);
      if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`, commandName);
      return {
        kind: 'run',
        global,
        command: {
          kind: 'signal',
          name,
          signal,
          payload: parseJsonArgument(payload, 'the payload', commandName, deps),
        },
      };
    }
    case 'replay': {
      const [name] = exactly(args, ['name'], commandName);
      const newName = nonEmpty(str('name'), '--name', commandName);
      return {
        kind: 'run',
        global,
        command: {
          kind: 'replay',
          name,
          ...(newName !== undefined ? { newName } : {}),
          wait: values.wait === true,
        },
      };
    }
    case 'dashboard': {
      exactly(args, [], commandName);
      const port = portNumber(str('port'), commandName);
      return {
        kind: 'run',
        global,
        command: { kind: 'dashboard', ...(port === undefined ? {} : { port }) },
      };
    }
    case 'emit': {
      const [type] = exactly(args, ['type'], commandName);
      const requestId = nonEmpty(str('request-id'), '--request-id', commandName);
      const owner = nonEmpty(str('owner'), '--owner', commandName);
      const bus = nonEmpty(str('bus'), '--bus', commandName);
      return {
        kind: 'run',
        global,
        command: {
          kind: 'emit',
          type,
          ...(requestId !== undefined ? { requestId } : {}),
          input: parseJsonArgument(str('input'), '--input', commandName, deps) ?? {},
          ...(owner !== undefined ? { owner } : {}),
          ...(bus !== undefined ? { bus } : {}),
        },
      };
    }
    default: {
      const [name] = exactly(args, ['name'], commandName);
      return { kind: 'run', global, command: { kind: commandName, name } };
    }
  }
}

/** `start --from FILE`: no <type> (each line names its own), nor the flags of one start. */
function parseStartFrom(
  from: string,
  args: readonly string[],
  values: Readonly<Record<string, unknown>>,
  str: (name: string) => string | undefined,
): Command {
  if (from === '') throw new UsageError('--from must not be empty', 'start');
  if (args[0] !== undefined) {
    throw new UsageError(
      `start --from takes no <type> ("${args[0]}"): each line names its own`,
      'start',
    );
  }
  for (const flag of ['name', 'input', 'timeout', 'wait']) {
    if (values[flag] !== undefined) {
      throw new UsageError(
        `--${flag} does not go with --from: each line is a whole start request`,
        'start',
      );
    }
  }
  const failures = nonEmpty(str('failures'), '--failures', 'start');
  return {
    kind: 'startFrom',
    from,
    batchSize: boundedInteger(str('batch-size'), '--batch-size', MAX_BATCH_SIZE) ?? MAX_BATCH_SIZE,
    concurrency:
      boundedInteger(str('concurrency'), '--concurrency', MAX_BATCH_CONCURRENCY) ??
      DEFAULT_BATCH_CONCURRENCY,
    ...(failures === undefined ? {} : { failures }),
  };
}

function boundedInteger(value: string | undefined, flag: string, max: number) {
  const n = positiveInteger(value, flag, 'start');
  if (n !== undefined && n > max) {
    throw new UsageError(`${flag} must be at most ${max}, got "${value}"`, 'start');
  }
  return n;
}

function exactly<const N extends readonly string[]>(
  args: readonly string[],
  names: N,
  command: CommandName,
): { [K in keyof N]: string } {
  if (args.length < names.length) {
    throw new UsageError(`${command} needs <${names[args.length]}>`, command);
  }
  if (args.length > names.length) {
    throw new UsageError(`unexpected argument "${args[names.length]}"`, command);
  }
  return args as unknown as { [K in keyof N]: string };
}

function nonEmpty(value: string | undefined, flag: string, command: CommandName) {
  if (value === '') throw new UsageError(`${flag} must not be empty`, command);
  return value;
}

function positiveInteger(value: string | undefined, flag: string, command: CommandName) {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${flag} must be a whole number of at least 1, got "${value}"`, command);
  }
  return Number(value);
}

function portNumber(value: string | undefined, command: CommandName) {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, got "${value}"`, command);
  }
  return Number(value);
}

/** A JSON argument (`--input`, a signal's payload): JSON text, or `@path` to read it (`@-` is stdin). */
function parseJsonArgument(
  value: string | undefined,
  label: string,
  command: CommandName,
  deps: ParseDeps,
): unknown {
  if (value === undefined) return undefined;
  let text = value;
  let source = label;
  if (value.startsWith('@')) {
    const path = value.slice(1);
    source = path === '-' ? 'stdin' : path;
    try {
      text = deps.readFile(path);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new UsageError(`cannot read ${label} file ${source}: ${reason}`, command);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${source} is not valid JSON: ${reason}`, command);
  }
}
