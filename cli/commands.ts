/** One function per command: call the API through the client, print for people or (`--json`) for machines. */
import type { EventJobsClient } from '../client/client';
import type { JobStatus, JobSummary } from '../client/types';
import type { Command, GlobalOptions } from './args';
import { ExitCode } from './errors';
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
import { showEvents } from './watch';

export interface CommandContext {
  readonly client: EventJobsClient;
  readonly global: GlobalOptions;
  readonly style: Style;
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Runs `fn` with a signal that Ctrl-C aborts. */
  readonly interruptible: <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;
}

export function runCommand(ctx: CommandContext, command: Command): Promise<ExitCode> {
  switch (command.kind) {
    case 'start':
      return start(ctx, command);
    case 'status':
      return status(ctx, command.name);
    case 'list':
      return list(ctx, command);
    case 'cancel':
      return cancel(ctx, command.name);
    case 'signal':
      return signal(ctx, command);
    case 'watch':
      return watch(ctx, command.name);
    case 'result':
      return result(ctx, command.name);
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

/** A job without a result throws the client's `NoResultError`; `main` reports it with the job's exit code. */
async function result(ctx: CommandContext, name: string): Promise<ExitCode> {
  const value = await ctx.client.result(name);
  ctx.stdout.write(`${ctx.global.json ? JSON.stringify(value ?? null) : formatJson(value)}\n`);
  return ExitCode.Ok;
}
