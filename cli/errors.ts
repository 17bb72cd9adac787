/**
 * The CLI's error model: every error ends the process with an exit code and,
 * where one helps, a hint. The client's errors (`client/errors.ts`) are
 * reported as they are, with the exit code their kind means; the errors only
 * the CLI has (usage, and a job's outcome as an exit code) are `CliError`s.
 * `main` prints them as `eventjobs: <message>` and exits with `exitCodeOf`.
 */
import {
  ApiError,
  ClientOptionError,
  EventJobsError,
  EventStreamEndedError,
  JobNotFoundError,
  JobNotSucceededError,
  JobStillRunningError,
  UnreachableError,
  UnreadableEventError,
} from '../client/errors';

/** Exit codes; documented in `cli/README.md` and `eventjobs --help`. Scripts depend on them. */
export const ExitCode = {
  /** The command did what was asked; for `watch`, `start --wait` and `result`: the job SUCCEEDED. */
  Ok: 0,
  /** The job FAILED (also an unexpected error inside eventjobs itself). */
  JobFailed: 1,
  /** Bad command line: unknown command or flag, missing or malformed argument. */
  Usage: 2,
  JobCancelled: 3,
  JobTimedOut: 4,
  /** The API answered with an error (4xx other than 404, or 5xx), or the event stream reported one. */
  ApiError: 5,
  /** The target cannot be reached: local cloud not running, connection refused, no credentials, stream cut off. */
  Unreachable: 6,
  /** The job does not exist (404). */
  NotFound: 7,
  /** `result` on a job that is still RUNNING. */
  StillRunning: 8,
  /** Interrupted (Ctrl-C) while watching. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI itself reports, with the exit code it ends with. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly exitCode: ExitCode;
  readonly hint?: string;

  constructor(message: string, exitCode: ExitCode, options?: ErrorOptions & { hint?: string }) {
    super(message, options);
    this.exitCode = exitCode;
    this.hint = options?.hint;
  }
}

/** The command line is wrong; the command's usage is printed with it. */
export class UsageError extends CliError {
  override readonly name: string = 'UsageError';
  /** The command whose usage to print; undefined for the one being run (or the global one). */
  readonly command?: string;

  constructor(message: string, command?: string, options?: ErrorOptions) {
    super(message, ExitCode.Usage, options);
    this.command = command;
  }
}

/** The exit code of each status a run ends with. */
const EXIT_CODE_OF_STATUS: ReadonlyMap<string, ExitCode> = new Map([
  ['SUCCEEDED', ExitCode.Ok],
  ['FAILED', ExitCode.JobFailed],
  ['CANCELLED', ExitCode.JobCancelled],
  ['TIMED_OUT', ExitCode.JobTimedOut],
]);

/** The exit code for a job status as the API reports it (`result`); a run not ended is `StillRunning`. */
export function exitCodeForStatus(status: string): ExitCode {
  return EXIT_CODE_OF_STATUS.get(status) ?? ExitCode.StillRunning;
}

/**
 * The client's errors that the CLI words its own way: an option is a flag
 * here (a usage error), `result`'s "no result" is the job's exit code, and an
 * unreadable event counts as the stream reporting an error. Others pass as
 * they are.
 */
export function toCliError(error: unknown): unknown {
  if (error instanceof ClientOptionError)
    return new UsageError(error.message, undefined, { cause: error });
  if (error instanceof JobStillRunningError) {
    return new CliError(error.message, ExitCode.StillRunning, {
      hint: `wait for it with \`eventjobs watch ${error.job.jobName}\``,
      cause: error,
    });
  }
  if (error instanceof JobNotSucceededError) {
    return new CliError(error.message, exitCodeForStatus(error.status), { cause: error });
  }
  if (error instanceof UnreadableEventError) {
    return new CliError(error.message, ExitCode.ApiError, { cause: error });
  }
  return error;
}

/** The exit code for an error of any kind: its kind's, or 1 for one eventjobs did not expect. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof JobNotFoundError) return ExitCode.NotFound;
  if (error instanceof ApiError) return ExitCode.ApiError;
  if (error instanceof UnreachableError) return ExitCode.Unreachable;
  if (error instanceof ClientOptionError) return ExitCode.Usage;
  if (error instanceof UnreadableEventError) return ExitCode.ApiError;
  if (error instanceof JobStillRunningError) return ExitCode.StillRunning;
  if (error instanceof JobNotSucceededError) return exitCodeForStatus(error.status);
  return ExitCode.JobFailed;
}

/** What to try next, in the CLI's words where they differ from the client's. */
export function hintOf(error: unknown): string | undefined {
  if (error instanceof JobNotFoundError) {
    return 'no job by that name is running or retained (eventjobs list shows yours)';
  }
  if (error instanceof EventStreamEndedError) {
    return `see where it stands with \`eventjobs status ${error.jobName}\`, or watch it again`;
  }
  if (error instanceof CliError || error instanceof EventJobsError) return error.hint;
  return undefined;
}
