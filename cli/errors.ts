/**
 * The CLI's one error model: every error it means to report carries the exit
 * code it ends with and, where one helps, a hint. `main` prints them as
 * `eventjobs: <message>` and exits with `exitCode`.
 */

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

/** Base class of the errors the CLI reports to its user. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;

  constructor(message: string, exitCode: ExitCode, options?: ErrorOptions & { hint?: string }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options?.hint;
  }
}

/** The command line is wrong; the command's usage is printed with it. */
export class UsageError extends CliError {
  /** The command whose usage to print; undefined for the global one. */
  readonly command?: string;

  constructor(message: string, command?: string) {
    super(message, ExitCode.Usage);
    this.command = command;
  }
}

/** The target could not be reached at all (no answer, no credentials, not running). */
export class UnreachableError extends CliError {
  constructor(message: string, options?: ErrorOptions & { hint?: string }) {
    super(message, ExitCode.Unreachable, options);
  }
}

/** One `{ path, message }` of a 400's `error.details`. */
export interface ApiErrorDetail {
  readonly path?: string;
  readonly message: string;
}

/** The API answered with an error status; `code` and `message` come from its JSON body. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;
  readonly details: readonly ApiErrorDetail[];
  /** The whole JSON body (409 JobNameInUse carries the running `job`). */
  readonly body: unknown;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: readonly ApiErrorDetail[]; body?: unknown; hint?: string } = {},
  ) {
    super(message, status === 404 ? ExitCode.NotFound : ExitCode.ApiError, { hint: options.hint });
    this.status = status;
    this.code = code;
    this.details = options.details ?? [];
    this.body = options.body;
  }
}

/** The exit code for an error of any kind: its own, or 1 for one eventjobs did not expect. */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof CliError ? error.exitCode : ExitCode.JobFailed;
}
