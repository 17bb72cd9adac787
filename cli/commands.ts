/** One function per command: call the API, print for people or (`--json`) for machines. */
import type { JobSummary, JobView } from '../functions/shared/model';
import type { Command, GlobalOptions } from './args';
import { CliError, ExitCode } from './errors';
import { type ApiClient, jobPath } from './http';
import {
  formatJob,
  formatJobTable,
  formatJson,
  humanWatchView,
  jsonWatchView,
  paint,
  paintStatus,
  type Style,
  type Writer,
} from './render';
import type { EventSourceFn } from './stream';
import { exitCodeForStatus, watchJob } from './watch';

export interface CommandContext {
  readonly client: ApiClient;
  readonly global: GlobalOptions;
  readonly style: Style;
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** The job event stream for this target; throws when it has none. */
  readonly eventSource: () => EventSourceFn;
  /** Runs `fn` with a signal that Ctrl-C aborts. */
  readonly interruptible: <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;
}

interface StartAnswer {
  readonly jobName: string;
  readonly runId: string;
  readonly status: string;
  readonly statusUrl?: string;
}

interface ListAnswer {
  readonly jobs: JobSummary[];
  readonly nextCursor?: string;
}

interface CancelAnswer {
  readonly jobName: string;
  readonly runId: string;
  readonly status: string;
  readonly cancelRequestedAt: string;
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
    case 'watch':
      return watch(ctx, command.name, undefined, ctx.eventSource());
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
  const source = command.wait ? ctx.eventSource() : undefined;
  const body = {
    type: command.type,
    ...(command.name === undefined ? {} : { name: command.name }),
    ...(command.input === undefined ? {} : { input: command.input }),
    ...(command.timeoutSeconds === undefined ? {} : { timeoutSeconds: command.timeoutSeconds }),
  };
  const answer = await ctx.client.call<StartAnswer>({ method: 'POST', path: '/jobs', body });
  const started = answer.body;
  if (ctx.global.json) {
    writeJson(ctx, started);
  } else {
    const { style } = ctx;
    ctx.stdout.write(
      `${paint(style, 'dim', 'name ')}  ${paint(style, 'bold', started.jobName)}\n` +
        `${paint(style, 'dim', 'runId')}  ${started.runId}\n`,
    );
    if (answer.status === 200) {
      ctx.stdout.write(
        `${paint(style, 'dim', 'note ')}  already running with the same type and input; not started again\n`,
      );
    }
  }
  if (source === undefined) return ExitCode.Ok;
  return watch(ctx, started.jobName, started.runId, source);
}

function watch(
  ctx: CommandContext,
  name: string,
  runId: string | undefined,
  source: EventSourceFn,
): Promise<ExitCode> {
  const view = ctx.global.json ? jsonWatchView(ctx.stdout) : humanWatchView(ctx.stdout, ctx.style);
  return ctx.interruptible(async (signal) => {
    try {
      const code = await watchJob({ name, runId, source, view, signal });
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
  const job = await ctx.client.json<JobView>({ method: 'GET', path: jobPath(name) });
  if (ctx.global.json) writeJson(ctx, job);
  else ctx.stdout.write(`${formatJob(ctx.style, job)}\n`);
  return ExitCode.Ok;
}

async function list(
  ctx: CommandContext,
  command: Extract<Command, { kind: 'list' }>,
): Promise<ExitCode> {
  const jobs: JobSummary[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams();
    if (command.status !== undefined) query.set('status', command.status);
    if (command.limit !== undefined) query.set('limit', String(command.limit));
    if (cursor !== undefined) query.set('cursor', cursor);
    const search = query.toString();
    const page = await ctx.client.json<ListAnswer>({
      method: 'GET',
      path: `/jobs${search === '' ? '' : `?${search}`}`,
    });
    jobs.push(...page.jobs);
    cursor = page.nextCursor;
  } while (command.all && cursor !== undefined);

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
  const answer = await ctx.client.json<CancelAnswer>({ method: 'DELETE', path: jobPath(name) });
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

async function result(ctx: CommandContext, name: string): Promise<ExitCode> {
  const job = await ctx.client.json<JobView>({ method: 'GET', path: jobPath(name) });
  if (job.status === 'SUCCEEDED') {
    ctx.stdout.write(
      `${ctx.global.json ? JSON.stringify(job.result ?? null) : formatJson(job.result)}\n`,
    );
    return ExitCode.Ok;
  }
  const code = exitCodeForStatus(job.status);
  if (code === ExitCode.StillRunning) {
    const percent = job.progress ? ` (${Math.round(job.progress.percent)}%)` : '';
    throw new CliError(`job ${name} is still RUNNING${percent}; it has no result yet`, code, {
      hint: `wait for it with \`eventjobs watch ${name}\``,
    });
  }
  const why = job.error ? `: ${job.error.name}: ${job.error.message}` : '';
  throw new CliError(
    `job ${name} ended ${paintStatus({ fancy: false }, job.status)}${why}; it has no result`,
    code,
  );
}
