/** One function per command: call the API through the client, print for people or (`--json`) for machines. */
import type { WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { type EventJobsClient, globalWebSocket } from '../client/client';
import { ApiError } from '../client/errors';
import type { FetchFn } from '../client/http';
import type { SleepFn } from '../client/retry';
import type { OptionNames, Target } from '../client/target';
import type { JobStatus, JobSummary } from '../client/types';
import type { WebSocketConstructor } from '../client/websocket';
import { startDashboard } from '../dashboard/server';
import { ulid } from '../functions/shared/ids';
import type { Command, GlobalOptions } from './args';
import { ExitCode, exitCodeOf, hintOf, toCliError, UsageError } from './errors';
import {
  formatJob,
  formatJobTable,
  formatJson,
  humanWatchView,
  jsonWatchView,
  paint,
  type Style,
  type Writer,
} from './render';
import { count, type StartFromReport, startFrom } from './start-from';
import { showEvents } from './watch';

export interface CommandContext {
  readonly client: EventJobsClient;
  readonly global: GlobalOptions;
  readonly style: Style;
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Runs `fn` with a signal that Ctrl-C aborts. */
  readonly interruptible: <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  /** How `start --from` waits before sending a line again. @default - a timer */
  readonly sleep?: SleepFn;
  /** What `start --from -` reads. @default process.stdin */
  readonly stdin?: Readable;
  /** What the dashboard server calls the API with. @default - the global fetch */
  readonly fetch?: FetchFn;
  /** The dashboard's WebSocket for a deployed stack's stream. @default - the global one */
  readonly WebSocket?: WebSocketConstructor;
  /** How the dashboard's messages name the target options. */
  readonly optionNames?: OptionNames;
  /**
   * The target with its credentials, which the dashboard server signs with
   * (the client keeps them to itself). @default - the dashboard is refused
   */
  readonly signingTarget?: () => Target;
}

export function runCommand(ctx: CommandContext, command: Command): Promise<ExitCode> {
  switch (command.kind) {
    case 'start':
      return start(ctx, command);
    case 'startFrom':
      return startFromFile(ctx, command);
    case 'status':
      return status(ctx, command.name);
    case 'list':
      return list(ctx, command);
    case 'cancel':
      return cancel(ctx, command.name);
    case 'signal':
      return signal(ctx, command);
    case 'replay':
      return replay(ctx, command);
    case 'watch':
      return watch(ctx, command.name);
    case 'result':
      return result(ctx, command.name);
    case 'emit':
      return emit(ctx, command);
    case 'dashboard':
      return dashboard(ctx, command);
  }
}

function writeJson(ctx: CommandContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value)}\n`);
}

async function start(
  ctx: CommandContext,
  command: Extract<Command, { kind: 'start' }>,
): Promise<ExitCode> {
  // Before starting anything: a --wait that cannot watch must not leave a job behind.
  if (command.wait) await ctx.client.assertCanWatch();
  const { created, ...started } = await ctx.client.start({
    type: command.type,
    name: command.name,
    input: command.input,
    timeoutSeconds: command.timeoutSeconds,
  });
  if (ctx.global.json) {
    // The API's answer as it came: `created` is the client's reading of its status code.
    writeJson(ctx, started);
  } else {
    const { style } = ctx;
    ctx.stdout.write(
      `${paint(style, 'dim', 'name ')}  ${paint(style, 'bold', started.jobName)}\n` +
        `${paint(style, 'dim', 'runId')}  ${started.runId}\n`,
    );
    if (!created) {
      ctx.stdout.write(
        `${paint(style, 'dim', 'note ')}  already running with the same type and input; not started again\n`,
      );
    }
  }
  if (!command.wait) return ExitCode.Ok;
  return follow(ctx, started.jobName, started.runId);
}

/** `start --from FILE`: the lines started in batches, a summary, and the failed lines. */
async function startFromFile(
  ctx: CommandContext,
  command: Extract<Command, { kind: 'startFrom' }>,
): Promise<ExitCode> {
  const input = await openInput(command.from, ctx.stdin);
  const failuresFile =
    command.failures === undefined ? undefined : await openOutput(command.failures);
  let report: StartFromReport;
  try {
    report = await ctx.interruptible((signal) =>
      startFrom(command, {
        client: ctx.client,
        input,
        failures: failuresFile ?? ctx.stderr,
        progress: ctx.stderr.isTTY === true ? ctx.stderr : undefined,
        sleep: ctx.sleep,
        signal,
      }),
    );
  } finally {
    if (input !== ctx.stdin && input !== process.stdin) input.destroy();
    await failuresFile?.close();
  }
  const failuresTo = command.failures ?? 'stderr';
  const stopped = report.stoppedBy === undefined ? undefined : toCliError(report.stoppedBy);
  if (ctx.global.json) {
    const { stoppedBy: _, ...figures } = report;
    writeJson(ctx, {
      ...figures,
      failuresTo,
      ...(stopped === undefined ? {} : { error: errorSummary(stopped) }),
    });
  } else {
    ctx.stdout.write(`${summaryLine(report, failuresTo)}\n`);
  }
  if (stopped !== undefined) {
    const hint = hintOf(stopped);
    const message = stopped instanceof Error ? stopped.message : String(stopped);
    ctx.stderr.write(
      `eventjobs: stopped after line ${report.read}: ${message}\n${hint ? `hint: ${hint}\n` : ''}`,
    );
    return exitCodeOf(stopped);
  }
  if (report.interrupted) {
    ctx.stderr.write(`eventjobs: stopped reading after line ${report.read} (Ctrl-C)\n`);
    return ExitCode.Interrupted;
  }
  return report.failed > 0 ? ExitCode.ApiError : ExitCode.Ok;
}

function summaryLine(report: StartFromReport, failuresTo: string): string {
  const lines = report.read - report.blank;
  const started = `started ${count(report.started)} of ${count(lines)} lines in ${report.seconds.toFixed(1)} s (${count(Math.round(report.perSecond))}/s)`;
  const details = [
    `${count(report.queued)} queued`,
    ...(report.alreadyRunning > 0 ? [`${count(report.alreadyRunning)} already running`] : []),
    ...(report.retried > 0 ? [`${count(report.retried)} sent again`] : []),
  ];
  const failed =
    report.failed > 0 ? `; ${count(report.failed)} failed (listed in ${failuresTo})` : '';
  return `${started}: ${details.join(', ')}${failed}`;
}

function errorSummary(error: unknown) {
  if (error instanceof ApiError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.status ? { status: error.status } : {}),
    };
  }
  const code = error instanceof Error ? error.name.replace(/Error$/, '') || 'Error' : 'Internal';
  return { code, message: error instanceof Error ? error.message : String(error) };
}

async function openInput(path: string, stdin: Readable | undefined): Promise<Readable> {
  if (path === '-') return stdin ?? process.stdin;
  try {
    return (await open(path, 'r')).createReadStream();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`cannot read --from file ${path}: ${reason}`, 'start');
  }
}

/** A file the failed lines are written to as they come. */
async function openOutput(path: string): Promise<Writer & { close(): Promise<void> }> {
  let stream: WriteStream;
  try {
    stream = (await open(path, 'w')).createWriteStream();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`cannot write --failures file ${path}: ${reason}`, 'start');
  }
  return {
    write: (text: string) => stream.write(text),
    close: () => new Promise<void>((resolve) => stream.end(resolve)),
  };
}

/** What the reference app's trigger listens for (infra/eventjobs-stack.ts `EXAMPLE_TRIGGER`). */
const JOB_REQUESTED = { source: 'eventjobs.example', detailType: 'Job Requested' } as const;

async function emit(
  ctx: CommandContext,
  command: Extract<Command, { kind: 'emit' }>,
): Promise<ExitCode> {
  const target = await ctx.client.target();
  const owner = command.owner ?? target.identityArn;
  if (owner === undefined) {
    throw new UsageError(
      'emit needs --owner ARN with --url: the IAM principal whose calls may see the job',
      'emit',
    );
  }
  const requestId = command.requestId ?? ulid();
  const { eventId } = await ctx.client.putEvent({
    ...JOB_REQUESTED,
    detail: { type: command.type, requestId, input: command.input ?? {}, owner },
    ...(command.bus ? { eventBusName: command.bus } : {}),
  });
  if (ctx.global.json) {
    writeJson(ctx, { requestId, eventId, owner });
  } else {
    const { style } = ctx;
    ctx.stdout.write(
      `${paint(style, 'dim', 'request')}  ${paint(style, 'bold', requestId)}\n` +
        `${paint(style, 'dim', 'event  ')}  ${eventId}\n` +
        `${paint(style, 'dim', 'owner  ')}  ${owner}\n` +
        `${paint(style, 'dim', 'next   ')}  eventjobs status ${requestId}\n`,
    );
  }
  return ExitCode.Ok;
}

/** Serves the dashboard until Ctrl-C or SIGTERM (`interruptible`); stopping it is success. */
async function dashboard(
  ctx: CommandContext,
  command: Extract<Command, { kind: 'dashboard' }>,
): Promise<ExitCode> {
  if (ctx.signingTarget === undefined) throw new Error('this eventjobs cannot serve a dashboard');
  const target = ctx.signingTarget();
  const running = await startDashboard({
    target,
    port: command.port,
    fetch: ctx.fetch,
    WebSocket: ctx.WebSocket ?? globalWebSocket(),
    maxAttempts: ctx.global.maxAttempts,
    names: ctx.optionNames,
  }).catch((error: unknown) => {
    const { code } = (error ?? {}) as { code?: unknown };
    if (code === 'EADDRINUSE') {
      throw new UsageError(
        `port ${command.port} of 127.0.0.1 is in use: pass another --port, or none for a free one`,
        'dashboard',
      );
    }
    throw error;
  });
  const { style } = ctx;
  if (ctx.global.json) {
    writeJson(ctx, { url: running.url, port: running.port, live: running.live });
  } else {
    ctx.stdout.write(
      `${paint(style, 'dim', 'dashboard')}  ${paint(style, 'bold', running.url)}\n` +
        `${paint(style, 'dim', 'showing  ')}  ${target.description}\n` +
        `${paint(style, 'dim', 'live     ')}  ${running.live}\n` +
        "Open the URL in a browser on this machine (the token in it is this start's). Ctrl-C stops.\n",
    );
  }
  await ctx.interruptible(
    (signal) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  );
  await running.close();
  ctx.stderr.write('eventjobs: dashboard stopped\n');
  return ExitCode.Ok;
}

async function watch(ctx: CommandContext, name: string): Promise<ExitCode> {
  // Fails before anything is drawn when this target has no event stream.
  await ctx.client.assertCanWatch();
  return follow(ctx, name, undefined);
}

function follow(ctx: CommandContext, name: string, runId: string | undefined): Promise<ExitCode> {
  const view = ctx.global.json ? jsonWatchView(ctx.stdout) : humanWatchView(ctx.stdout, ctx.style);
  return ctx.interruptible(async (signal) => {
    try {
      const code = await showEvents(ctx.client.watch(name, { runId, signal }), view, signal);
      if (code === ExitCode.Interrupted) {
        view.close();
        ctx.stderr.write(
          `eventjobs: stopped watching; the job keeps running (\`eventjobs cancel ${name}\` stops it)\n`,
        );
      }
      return code;
    } finally {
      view.close();
    }
  });
}

async function status(ctx: CommandContext, name: string): Promise<ExitCode> {
  const job = await ctx.client.get(name);
  if (ctx.global.json) writeJson(ctx, job);
  else ctx.stdout.write(`${formatJob(ctx.style, job)}\n`);
  return ExitCode.Ok;
}

async function list(
  ctx: CommandContext,
  command: Extract<Command, { kind: 'list' }>,
): Promise<ExitCode> {
  // Not checked here: the API's own answer to a status it does not know is the one to show.
  const query = { status: command.status as JobStatus | undefined, limit: command.limit };
  let jobs: JobSummary[];
  let cursor: string | undefined;
  if (command.all) {
    jobs = [];
    for await (const job of ctx.client.listAll(query)) jobs.push(job);
  } else {
    const page = await ctx.client.list(query);
    jobs = page.jobs;
    cursor = page.nextCursor;
  }

  if (ctx.global.json) {
    writeJson(ctx, cursor === undefined ? { jobs } : { jobs, nextCursor: cursor });
    return ExitCode.Ok;
  }
  if (jobs.length === 0) {
    ctx.stdout.write(`no jobs${command.status ? ` with status ${command.status}` : ''}\n`);
    return ExitCode.Ok;
  }
  ctx.stdout.write(`${formatJobTable(ctx.style, jobs)}\n`);
  if (cursor !== undefined) {
    ctx.stderr.write('more jobs: eventjobs list --all (or --json for nextCursor)\n');
  }
  return ExitCode.Ok;
}

async function cancel(ctx: CommandContext, name: string): Promise<ExitCode> {
  const answer = await ctx.client.cancel(name);
  if (ctx.global.json) {
    writeJson(ctx, answer);
  } else {
    ctx.stdout.write(
      `cancel requested for ${paint(ctx.style, 'bold', answer.jobName)} (run ${answer.runId}) at ${answer.cancelRequestedAt}\n` +
        `follow it with: eventjobs watch ${answer.jobName}\n`,
    );
  }
  return ExitCode.Ok;
}

async function signal(
  ctx: CommandContext,
  command: Extract<Command, { kind: 'signal' }>,
): Promise<ExitCode> {
  const answer = await ctx.client.signal(command.name, command.signal, command.payload);
  if (ctx.global.json) {
    writeJson(ctx, answer);
  } else {
    const { style } = ctx;
    const what = `${paint(style, 'bold', answer.signal)} for ${paint(style, 'bold', answer.jobName)} (run ${answer.runId})`;
    ctx.stdout.write(
      answer.duplicate
        ? `signal ${what} was already received at ${answer.receivedAt} with this payload; not sent again\n`
        : `signal ${what} received at ${answer.receivedAt}\n`,
    );
  }
  return ExitCode.Ok;
}

async function replay(
  ctx: CommandContext,
  command: Extract<Command, { kind: 'replay' }>,
): Promise<ExitCode> {
  // Before replaying: a --wait that cannot watch must not leave a run behind.
  if (command.wait) await ctx.client.assertCanWatch();
  const { created, ...started } = await ctx.client.replay(command.name, { name: command.newName });
  if (ctx.global.json) {
    writeJson(ctx, started);
  } else {
    const { style } = ctx;
    ctx.stdout.write(
      `${paint(style, 'dim', 'name  ')}  ${paint(style, 'bold', started.jobName)}\n` +
        `${paint(style, 'dim', 'runId ')}  ${started.runId}\n` +
        `${paint(style, 'dim', 'replay')}  of ${command.name}${started.status === 'QUEUED' ? ' (QUEUED: it starts when a slot is free)' : ''}\n`,
    );
    if (!created) {
      ctx.stdout.write(
        `${paint(style, 'dim', 'note  ')}  this replay was already running under that name; not started again\n`,
      );
    }
  }
  if (!command.wait) return ExitCode.Ok;
  return follow(ctx, started.jobName, started.runId);
}

/** A job without a result throws the client's `NoResultError`; `main` reports it with the job's exit code. */
async function result(ctx: CommandContext, name: string): Promise<ExitCode> {
  const value = await ctx.client.result(name);
  ctx.stdout.write(`${ctx.global.json ? JSON.stringify(value ?? null) : formatJson(value)}\n`);
  return ExitCode.Ok;
}
