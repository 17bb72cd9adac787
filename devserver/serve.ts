/**
 * Serving the local cloud to a person at a terminal, the same way for
 * `npm start` (`cli.ts`) and for `eventjobs dev`: start it from an assembly
 * with the job event stream (`job-stream.ts`), print the banner, write `.eventjobs/local.json` for other tools, stop
 * cleanly on Ctrl-C, SIGTERM, SIGHUP or the death of the parent process, and
 * restart it on a new assembly after a re-synth (same ports, same data).
 */
import { relative, resolve } from 'node:path';
import { type RunningDashboard, startDashboard } from '../dashboard/server';
import { readAssembly } from '../local/assembly/stack';
import { formatChaosReport } from '../local/chaos';
import { type LocalCloudOptions, type RunningLocalCloud, startLocalCloud } from '../local/cloud';
import { jobStreamExtension } from './job-stream';
import type { ServeArgs } from './serve-args';
import {
  type ExampleJob,
  formatBanner,
  formatRestartNotice,
  portInUseMessage,
} from './serve-messages';
import { isAlive, readStateFile, removeStateFile, STATE_FILE, writeStateFile } from './state-file';

// One import for a command that serves the cloud: the options and the banner's parts too.
export {
  NpmSwallowedOptionsError,
  npmSwallowedOptions,
  parseServeArgs,
  SERVE_OPTIONS,
  type ServeArgs,
  type ServeArgValues,
  serveArgsFromValues,
  serveUsage,
  USAGE,
  type UsageLine,
} from './serve-args';
export {
  type BannerCloud,
  DEFAULT_EXAMPLE_JOB,
  type ExampleJob,
  formatBanner,
} from './serve-messages';

/** Generated secret values, kept between runs (a local setting). */
export const SECRETS_FILE = '.eventjobs/secrets.json';

/** The signals that stop a served cloud: Ctrl-C, `kill`, and a closed terminal. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How often the parent process is checked (see `LocalCloudServer.#watch`). */
const PARENT_CHECK_MS = 1000;

/** Where the banner and notices go: `process.stdout` or anything with `write`. */
export interface TextSink {
  write(text: string): unknown;
}

export interface ServeOptions {
  /** The parsed options (`parseServeArgs`, or `serveArgsFromValues` with a caller's own). */
  readonly args: ServeArgs;
  /** Where relative paths resolve and `.eventjobs/` lives. @default process.cwd() */
  readonly root?: string;
  /** The cloud assembly to run. @default `args.assembly` in `root` */
  readonly assemblyDir?: string;
  /** @default `.eventjobs/local.json` in `root` */
  readonly stateFile?: string;
  /** The job the banner's curl commands start. @default a `sleep` job named `hello`, 5 seconds */
  readonly exampleJob?: ExampleJob;
  /** When the command began (`performance.now()`), for the banner's startup time. @default now */
  readonly startedAt?: number;
  /** Milliseconds of `cdk synth` before this call, shown apart in the banner. @default 0 */
  readonly synthMs?: number;
  /** @default process.stdout */
  readonly stdout?: TextSink;
  /** @default process.stderr */
  readonly stderr?: TextSink;
  /** Stop on SIGINT, SIGTERM and SIGHUP, and when the parent process dies. @default true */
  readonly stopOnSignals?: boolean;
  /**
   * Passed on to `startLocalCloud`, over what the args say (tests: a log
   * sink); `extensions` are added after the job event stream.
   */
  readonly cloudOptions?: Partial<LocalCloudOptions>;
  /**
   * Serve the dashboard (`dashboard/server.ts`) with the cloud, as its first
   * user, on a free port of 127.0.0.1; its URL is in the banner.
   * @default true
   */
  readonly dashboard?: boolean;
}

export interface ServedCloud {
  /** The cloud serving now; after `restart`, the new one (after a failed restart, the last one, stopped). */
  readonly cloud: RunningLocalCloud;
  /**
   * After a re-synth: checks that `assemblyDir` can be read, stops the running
   * cloud, starts the new assembly on the same ports and data, rewrites the
   * state file and prints a one-line notice. Rejects with a `ServeError` when
   * the new cloud cannot start (the state file is then removed; call again).
   */
  restart(assemblyDir: string): Promise<RunningLocalCloud>;
  /** Stops, once: removes the state file, stops the cloud, prints what is left in DLQs. */
  stop(reason: string): Promise<void>;
  /** Resolves once stopped, whatever stopped it (a signal, the parent's death, `stop`). */
  readonly stopped: Promise<void>;
  /** The dashboard served with the cloud; it outlives restarts and stops with the cloud. */
  readonly dashboard?: RunningDashboard;
}

/** The local cloud could not start; the message says why in a person's words (exit status 1). */
export class ServeError extends Error {
  override readonly name = 'ServeError';
}

/** Starts the cloud and serves it until a signal, the parent's death or `stop`. */
export async function serveLocalCloud(options: ServeOptions): Promise<ServedCloud> {
  const server = new LocalCloudServer(options);
  await server.start();
  return server;
}

class LocalCloudServer implements ServedCloud {
  readonly stopped: Promise<void>;
  readonly #options: ServeOptions;
  readonly #root: string;
  readonly #stateFile: string;
  readonly #out: TextSink;
  readonly #err: TextSink;
  /** The cloud last started; `#running` is false once it was stopped. */
  #cloud?: RunningLocalCloud;
  #running = false;
  /** Restarts and the stop run one after another. */
  #queue: Promise<unknown> = Promise.resolve();
  #stopping?: Promise<void>;
  #resolveStopped: () => void = () => undefined;
  readonly #listeners: [NodeJS.Signals, () => void][] = [];
  #parentCheck?: NodeJS.Timeout;
  #dashboard?: RunningDashboard;

  constructor(options: ServeOptions) {
    this.#options = options;
    this.#root = resolve(options.root ?? process.cwd());
    this.#stateFile = resolve(this.#root, options.stateFile ?? STATE_FILE);
    this.#out = options.stdout ?? process.stdout;
    this.#err = options.stderr ?? process.stderr;
    this.stopped = new Promise((resolveStopped) => {
      this.#resolveStopped = resolveStopped;
    });
  }

  get dashboard(): RunningDashboard | undefined {
    return this.#dashboard;
  }

  get cloud(): RunningLocalCloud {
    if (!this.#cloud) throw new Error('The local cloud has not started');
    return this.#cloud;
  }

  async start(): Promise<void> {
    const { args } = this.#options;
    const began = this.#options.startedAt ?? performance.now();
    const assemblyDir = resolve(this.#root, this.#options.assemblyDir ?? args.assembly);
    const cloud = await this.#startCloud(assemblyDir, args.port, args.awsPort);
    this.#cloud = cloud;
    this.#running = true;
    const synthMs = this.#options.synthMs ?? 0;
    const startMs = performance.now() - began - synthMs;
    const user = cloud.users[0];
    if (this.#options.dashboard !== false && user) this.#dashboard = await this.#startDashboard();
    const dashboard = this.#dashboard && user && { url: this.#dashboard.url, user: user.name };
    this.#out.write(
      formatBanner(cloud, { startMs, synthMs }, this.#options.exampleJob, dashboard || undefined),
    );
    this.#writeState(cloud);
    if (this.#options.stopOnSignals !== false) this.#watch();
  }

  restart(assemblyDir: string): Promise<RunningLocalCloud> {
    const restarted = this.#queue
      .catch(() => undefined)
      .then(() => this.#restart(resolve(this.#root, assemblyDir)));
    this.#queue = restarted;
    return restarted;
  }

  stop(reason: string): Promise<void> {
    if (this.#stopping) return this.#stopping;
    // A second Ctrl-C while stopping takes the default action: the process ends at once.
    this.#unwatch();
    this.#out.write(`\n${reason}: stopping the local cloud...\n`);
    this.#stopping = this.#queue
      .catch(() => undefined)
      .then(() => this.#shutdown())
      .finally(() => this.#resolveStopped());
    return this.#stopping;
  }

  async #restart(assemblyDir: string): Promise<RunningLocalCloud> {
    if (this.#stopping) throw new ServeError('The local cloud is stopping; it was not restarted.');
    const { args } = this.#options;
    try {
      // A broken assembly is reported while the running cloud keeps serving.
      readAssembly(assemblyDir, args.stack);
    } catch (error) {
      throw new ServeError(`The local cloud was not restarted: ${messageOf(error)}`);
    }
    const began = performance.now();
    const old = this.#running ? this.#cloud : undefined;
    // The ports the old cloud got, also when they were picked (port 0). With several
    // HTTP APIs, the later ones take the ports after the first, as at a first start.
    const apiPort = (old && portOf(old.apiUrl)) ?? args.port;
    const awsPort = (old && portOf(old.awsEndpoint)) ?? args.awsPort;
    if (old) await this.#stopCloud(old);
    let cloud: RunningLocalCloud;
    try {
      cloud = await this.#startCloud(assemblyDir, apiPort, awsPort);
    } catch (error) {
      // Nothing serves now: other tools must not find a state file. The caller reports the error.
      removeStateFile(this.#stateFile);
      throw error;
    }
    this.#cloud = cloud;
    this.#running = true;
    this.#writeState(cloud);
    const memoryOnly = args.data === undefined && args.dynamodbEndpoint === undefined;
    this.#out.write(formatRestartNotice(cloud, performance.now() - began, memoryOnly));
    return cloud;
  }

  /**
   * The dashboard signs as the first user of whichever cloud runs now: a
   * restart keeps the API's port, so the same server and URL go on working.
   */
  async #startDashboard(): Promise<RunningDashboard | undefined> {
    const cloud = this.cloud;
    const userOf = () => {
      const user = this.cloud.users[0];
      if (!user) throw new ServeError('The local cloud has no user to sign with');
      return user;
    };
    try {
      return await startDashboard({
        target: {
          kind: 'local',
          apiUrl: cloud.apiUrl.replace(/\/+$/, ''),
          region: cloud.region,
          credentials: async () => {
            const { accessKeyId, secretAccessKey } = userOf();
            return { accessKeyId, secretAccessKey };
          },
          description: `the local cloud at ${cloud.apiUrl}`,
          identityArn: userOf().arn,
        },
      });
    } catch (error) {
      this.#err.write(
        `The dashboard could not start (the cloud runs without it): ${messageOf(error)}\n`,
      );
      return undefined;
    }
  }

  async #shutdown(): Promise<void> {
    await this.#dashboard?.close();
    removeStateFile(this.#stateFile);
    const cloud = this.#running ? this.#cloud : undefined;
    if (cloud) await this.#stopCloud(cloud);
    this.#out.write('Stopped.\n');
  }

  /** Stops a cloud and prints what it leaves: messages in dead-letter queues, faults chaos injected. */
  async #stopCloud(cloud: RunningLocalCloud): Promise<void> {
    this.#running = false;
    try {
      const deadLetters = await cloud.stop();
      if (deadLetters) this.#out.write(deadLetters);
      const chaos = cloud.chaosReport();
      if (chaos) this.#out.write(formatChaosReport(chaos));
    } catch (error) {
      this.#err.write(`Error while stopping: ${String(error)}\n`);
    }
  }

  async #startCloud(
    assemblyDir: string,
    apiPort: number,
    awsPort: number,
  ): Promise<RunningLocalCloud> {
    const { args } = this.#options;
    try {
      return await startLocalCloud({
        assemblyDir,
        stackName: args.stack,
        apiPort,
        awsPort,
        dataDir: args.data ? resolve(this.#root, args.data) : undefined,
        dynamodbEndpoint: args.dynamodbEndpoint,
        logsDir: args.logs ? resolve(this.#root, args.logs) : undefined,
        quiet: args.quiet,
        timeScale: args.timeScale,
        scheduleScale: args.scheduleScale,
        color: this.#options.stdout === undefined && process.stdout.isTTY,
        chaos: args.chaos ? { rules: args.chaos, seed: args.chaosSeed } : undefined,
        secretValues: args.secretValues,
        secretsFile: args.data ? undefined : resolve(this.#root, SECRETS_FILE),
        signingKeysAt: `in ${relative(this.#root, this.#stateFile) || STATE_FILE} and in the banner`,
        ...this.#options.cloudOptions,
        extensions: [jobStreamExtension(), ...(this.#options.cloudOptions?.extensions ?? [])],
      });
    } catch (error) {
      throw new ServeError(
        `The local cloud could not start: ${this.#describeStartError(error, apiPort, awsPort)}`,
      );
    }
  }

  /** A taken port is named, with the local cloud that holds it when the state file says so. */
  #describeStartError(error: unknown, apiPort: number, awsPort: number): string {
    const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown };
    if (code !== 'EADDRINUSE' || typeof port !== 'number') return messageOf(error);
    const flag = port === awsPort && port !== apiPort ? '--aws-port' : '--port';
    let state: ReturnType<typeof readStateFile>;
    try {
      state = readStateFile(this.#stateFile);
    } catch {
      state = undefined;
    }
    const holder =
      state !== undefined && state.pid !== process.pid && isAlive(state.pid) ? state : undefined;
    return portInUseMessage(port, flag, holder);
  }

  #writeState(cloud: RunningLocalCloud): void {
    try {
      writeStateFile(this.#stateFile, cloud);
    } catch (error) {
      this.#err.write(
        `Could not write ${this.#stateFile} (npm run dlq and eventjobs need it): ${String(error)}\n`,
      );
    }
  }

  #watch(): void {
    // A dead parent or a closed terminal leaves stdout broken, and function logs
    // may come before the stop: a failed write must not end the process uncleanly.
    ignoreBrokenPipes();
    for (const signal of STOP_SIGNALS) {
      const listener = () => void this.stop(signal);
      this.#listeners.push([signal, listener]);
      process.on(signal, listener);
    }
    // A parent that dies without signalling us (SIGKILL of npm, tsx or a dev
    // server; a crashed test runner) leaves this process running, holding the
    // ports and the state file. Node has no PR_SET_PDEATHSIG, and stdin cannot
    // tell (it may be a terminal or /dev/null), but an orphan is re-parented:
    // its ppid changes. Unref'd: the check never keeps the process alive itself.
    const parent = process.ppid;
    this.#parentCheck = setInterval(() => {
      if (process.ppid === parent) return;
      void this.stop(`parent process ${parent} exited`);
    }, PARENT_CHECK_MS);
    this.#parentCheck.unref();
  }

  #unwatch(): void {
    for (const [signal, listener] of this.#listeners.splice(0)) process.off(signal, listener);
    clearInterval(this.#parentCheck);
  }
}

let brokenPipesIgnored = false;

/**
 * Writes to a pipe whose reader is gone fail with EPIPE; after the parent
 * died, that is expected, and must not end the process before it stopped.
 * Always a listener of our own: one that is there already may be a pipe's
 * (tsx pipes into stdout), which re-emits the error when it is the last one.
 */
function ignoreBrokenPipes(): void {
  if (brokenPipesIgnored) return;
  brokenPipesIgnored = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

function portOf(url: string): number | undefined {
  try {
    const port = Number(new URL(url).port);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
