/**
 * The functions' structured log: Powertools Logger, one instance per function
 * (each bundle holds one function, and this module builds it at load).
 *
 * Every line carries `service: "eventjobs"`, the function (`function`, named by
 * `withLogContext` in its handler), the invocation's Lambda context
 * (`function_request_id`, `cold_start`, ...), the X-Ray trace id when Lambda
 * traces the invocation, and, while a job is handled, its `owner`, `jobName`
 * and `runId` (`appendJobKeys`).
 *
 * Powertools writes each line through a `Console` of its own on stdout and
 * stderr, not through the global `console` that Lambda's runtime patches, so
 * with the functions' `loggingFormat: JSON` a line reaches CloudWatch as the
 * JSON it is, not wrapped again in Lambda's own record (Powertools does not
 * read `AWS_LAMBDA_LOG_FORMAT`; it always writes JSON). `POWERTOOLS_DEV` would
 * route it through the global console, and so wrap and indent it: never set it
 * on a deployed function. Lambda's log level (`AWS_LAMBDA_LOG_LEVEL`) wins over
 * `POWERTOOLS_LOG_LEVEL`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

/** The `service` of every log line. */
export const SERVICE_NAME = 'eventjobs';

export const log = new Logger({ serviceName: SERVICE_NAME });

/** The run a job-handling invocation is about; the keys stay on every line until it ends. */
export interface JobKeys {
  readonly owner?: string;
  readonly jobName?: string;
  readonly runId?: string;
}

/** Puts the run's keys (those three only, of whatever it is given) on every further line of this invocation. */
export function appendJobKeys({ owner, jobName, runId }: JobKeys): void {
  log.appendKeys({
    ...(owner !== undefined ? { owner } : {}),
    ...(jobName !== undefined ? { jobName } : {}),
    ...(runId !== undefined ? { runId } : {}),
  });
}

/** A run's three keys, for one log line about a run other than the invocation's own. */
export function runKeys(run: Required<JobKeys>): Required<JobKeys> {
  return { owner: run.owner, jobName: run.jobName, runId: run.runId };
}

/**
 * Wraps a function's handler, once at module scope: names the function on every
 * line (the persistent key `function`), adds each invocation's Lambda context,
 * and drops the keys an invocation appended (`appendJobKeys`) when it ends, so a
 * warm environment's next invocation does not inherit them.
 */
export function withLogContext<A extends [event?: unknown, context?: Context], R>(
  functionName: string,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  log.appendPersistentKeys({ function: functionName });
  return async (...args) => {
    const context = args[1];
    if (context) log.addContext(context);
    try {
      return await handler(...args);
    } finally {
      log.resetKeys();
    }
  };
}

/** The parts of an error worth logging; never sent to an HTTP caller. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { errorName: error.name, errorMessage: error.message, stack: error.stack };
  }
  return { errorMessage: String(error) };
}
