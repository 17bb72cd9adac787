/**
 * `eventjobs`: parses the command line, finds the target, runs the command
 * and turns every error into `eventjobs: <message>` on stderr and an exit
 * code (see `cli/README.md`). Everything it touches outside itself comes in
 * through `MainDeps`, so tests drive it without a process or a network.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createClient, globalWebSocket } from '../client/client';
import { defaultAwsCredentials } from '../client/credentials';
import { ApiError, EventJobsError, UnreachableError } from '../client/errors';
import type { FetchFn } from '../client/http';
import type { RetryNotice } from '../client/retry';
import { type OptionNames, resolveTarget } from '../client/target';
import type { WebSocketConstructor } from '../client/websocket';
import { isAlive } from '../devserver/state-file';
import type { SigV4Credentials } from '../functions/shared/signer';
import { type CommandName, helpText, type Invocation, isCommand, parseCommandLine } from './args';
import { runCommand } from './commands';
import { CliError, ExitCode, exitCodeOf, hintOf, toCliError, UsageError } from './errors';
import { styleFor, type Writer } from './render';

/** The client's messages name its options as the flags that set them. */
const FLAGS: OptionNames = { url: '--url', region: '--region', streamUrl: '--stream-url' };

export interface MainDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly fetch: FetchFn;
  /** Reads a file (`-` is stdin). */
  readonly readFile: (path: string) => string;
  readonly isAlive: (pid: number) => boolean;
  /** The standard AWS credential chain (env, SSO, profiles, IMDS...) for a region. */
  readonly awsCredentials: (region: string) => Promise<SigV4Credentials>;
  /** @default - the global WebSocket, if this Node.js has one */
  readonly WebSocket?: WebSocketConstructor;
  /** Calls `handler` on Ctrl-C (and SIGTERM) until the returned function is called. */
  readonly onInterrupt: (handler: () => void) => () => void;
  /**
   * Runs this same command line again in a Node.js with WebSocket enabled
   * (Node 20 needs `--experimental-websocket`), answering its exit code.
   * @default - none: a missing WebSocket is reported as an error
   */
  readonly reexecWithWebSocket?: () => Promise<number>;
  /** How a retry waits. @default - a real timer */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly version: string;
}

export async function main(argv: readonly string[], deps: MainDeps): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv, { readFile: deps.readFile });
  } catch (error) {
    return report(deps, error, argv.includes('--json'));
  }
  if (invocation.kind === 'help') {
    deps.stdout.write(`${helpText(invocation.command)}\n`);
    return ExitCode.Ok;
  }
  if (invocation.kind === 'version') {
    deps.stdout.write(`${deps.version}\n`);
    return ExitCode.Ok;
  }
  const { global, command } = invocation;
  try {
    const client = createClient({
      url: global.url,
      region: global.region,
      streamUrl: global.streamUrl,
      credentials: ({ region }) => deps.awsCredentials(region),
      fetch: deps.fetch,
      env: deps.env,
      cwd: deps.cwd,
      readFile: deps.readFile,
      isAlive: deps.isAlive,
      WebSocket: deps.WebSocket,
      optionNames: FLAGS,
      maxAttempts: global.maxAttempts,
      onRetry: (notice) => noteRetry(deps.stderr, notice),
      sleep: deps.sleep,
    });
    const streams =
      command.kind === 'watch' ||
      command.kind === 'dashboard' ||
      (command.kind === 'start' && command.wait);
    if (
      streams &&
      (deps.WebSocket ?? globalWebSocket()) === undefined &&
      deps.reexecWithWebSocket !== undefined &&
      !deps.env.EVENTJOBS_WEBSOCKET_REEXEC
    ) {
      // Re-run before starting anything, so a --wait does not start the job twice.
      const target = await client.target();
      if (target.kind === 'aws' && target.streamUrl !== undefined) {
        return await deps.reexecWithWebSocket();
      }
    }
    return await runCommand(
      {
        client,
        global,
        style: styleFor(deps.stdout, deps.env, global.color && !global.json),
        stdout: deps.stdout,
        stderr: deps.stderr,
        sleep: deps.sleep,
        fetch: deps.fetch,
        WebSocket: deps.WebSocket,
        optionNames: FLAGS,
        signingTarget: () =>
          resolveTarget({
            url: global.url,
            region: global.region,
            streamUrl: global.streamUrl,
            credentials: ({ region }) => deps.awsCredentials(region),
            cwd: deps.cwd,
            env: deps.env,
            readFile: deps.readFile,
            isAlive: deps.isAlive,
            names: FLAGS,
          }),
        interruptible: async (fn) => {
          const controller = new AbortController();
          const stop = deps.onInterrupt(() => controller.abort());
          try {
            return await fn(controller.signal);
          } finally {
            stop();
          }
        },
      },
      command,
    );
  } catch (error) {
    const about = command.kind === 'startFrom' ? 'start' : command.kind;
    return report(deps, toCliError(error), global.json, about);
  }
}

/**
 * A throttled request is about to be sent again. Said once per request, at its
 * first retry: enough to explain a pause, without a line per wait. (The CLI
 * has no --verbose to ask for more.) Stderr, so --json output stays clean.
 */
function noteRetry(stderr: Writer, notice: RetryNotice): void {
  if (notice.attempt !== 2) return;
  const seconds = (notice.delayMs / 1000).toFixed(1);
  stderr.write(
    `eventjobs: retrying after ${notice.status} ${notice.code} (attempt ${notice.attempt} of ${notice.maxAttempts}, waiting ${seconds} s)\n`,
  );
}

/** Prints an error (and, with --json, its JSON form on stdout) and answers its exit code. */
function report(deps: MainDeps, error: unknown, json: boolean, command?: CommandName): number {
  const exitCode = exitCodeOf(error);
  const lines: string[] = [];
  if (error instanceof CliError || error instanceof EventJobsError) {
    const code =
      error instanceof ApiError ? ` (${error.status ? `${error.status} ` : ''}${error.code})` : '';
    lines.push(`eventjobs: ${error.message}${code}`);
    if (error instanceof ApiError) lines.push(...apiErrorLines(error));
    const hint = hintOf(error);
    if (hint) lines.push(`hint: ${hint}`);
    if (error instanceof UsageError) {
      const about = error.command ?? command;
      const known = isCommand(about) ? about : undefined;
      lines.push(
        helpText(known).split('\n')[0] ?? '',
        known ? `Run 'eventjobs ${known} --help'.` : `Run 'eventjobs --help'.`,
      );
    }
  } else {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    lines.push(`eventjobs: unexpected error: ${text}`);
  }
  deps.stderr.write(`${lines.join('\n')}\n`);
  if (json) deps.stdout.write(`${JSON.stringify(errorDocument(error, exitCode))}\n`);
  return exitCode;
}

function apiErrorLines(error: ApiError): string[] {
  const lines = error.details.map((d) => `  ${d.path ? `${d.path}: ` : ''}${d.message}`);
  const job = (error.body as { job?: Partial<JobLike> } | undefined)?.job;
  if (error.code === 'JobNameInUse' && job?.jobName) {
    const progress = job.progress ? `, ${Math.round(job.progress.percent)}%` : '';
    lines.push(
      `  running: ${job.jobName} (${job.type ?? '?'}, run ${job.runId ?? '?'}, created ${job.createdAt ?? '?'}${progress})`,
      `hint: wait for it (eventjobs watch ${job.jobName}), cancel it (eventjobs cancel ${job.jobName}), or choose another --name`,
    );
  }
  return lines;
}

interface JobLike {
  readonly jobName: string;
  readonly type: string;
  readonly runId: string;
  readonly createdAt: string;
  readonly progress: { readonly percent: number };
}

function errorDocument(error: unknown, exitCode: number) {
  if (error instanceof ApiError) {
    return {
      error: {
        code: error.code,
        message: error.message,
        ...(error.status ? { status: error.status } : {}),
        ...(error.details.length > 0 ? { details: error.details } : {}),
        ...(error.attempts > 1 ? { attempts: error.attempts } : {}),
        exitCode,
      },
    };
  }
  // Every way of not reaching the target is one code to a script, whichever class said so.
  const code =
    error instanceof UnreachableError
      ? 'Unreachable'
      : error instanceof CliError || error instanceof EventJobsError
        ? error.name.replace(/Error$/, '') || 'Error'
        : 'Internal';
  const message = error instanceof Error ? error.message : String(error);
  return { error: { code, message, exitCode } };
}

// ------------------------------------------------------------ the process

/** The real process: stdio, fetch, files, signals, the AWS SDK's credential chain. */
export function processDeps(): MainDeps {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    fetch: (input, init) => fetch(input, init),
    readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
    isAlive,
    awsCredentials: async (region) => {
      // The SDK's notice that it will need Node 22 from 2027 is noise in a CLI's output.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      // It imports the SDK only now, for --url: the SDK would be most of the start-up time.
      return defaultAwsCredentials(region);
    },
    onInterrupt: (handler) => {
      // SIGTERM too: `kill` stops a watch or a dashboard as cleanly as Ctrl-C.
      process.once('SIGINT', handler);
      process.once('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
    reexecWithWebSocket: () =>
      new Promise((resolve, reject) => {
        const script = process.argv[1];
        if (script === undefined) return reject(new Error('no script to re-run'));
        const child = spawn(
          process.execPath,
          [
            '--experimental-websocket',
            '--disable-warning=ExperimentalWarning',
            ...process.execArgv,
            script,
            ...process.argv.slice(2),
          ],
          { stdio: 'inherit', env: { ...process.env, EVENTJOBS_WEBSOCKET_REEXEC: '1' } },
        );
        // Ctrl-C reaches the child too (same process group); it reports and exits.
        // A SIGTERM is sent to this process alone: it is passed on.
        const ignore = () => undefined;
        const passOn = () => child.kill('SIGTERM');
        process.on('SIGINT', ignore);
        process.on('SIGTERM', passOn);
        child.once('error', reject);
        child.once('exit', (code, signal) => {
          process.off('SIGINT', ignore);
          process.off('SIGTERM', passOn);
          resolve(code ?? (signal === 'SIGINT' ? ExitCode.Interrupted : ExitCode.JobFailed));
        });
      }),
    version: packageVersion(),
  };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
