/**
 * One invocation of a schedule's target, as Scheduler's Lambda templated
 * target makes it: `Invoke` with `InvocationType: Event` and the `Input`
 * (context attributes replaced) as the payload, so Lambda's async queue,
 * retries and destinations apply. Any other target is logged as not
 * emulated, and nothing is invoked.
 */
import type { LambdaInvoker, LogSink } from '../contracts';
import { formatScheduledTime, newExecutionId, withContextAttributes } from './context';
import type { StoredSchedule } from './store';

export interface Invocation {
  /** `schedule <group>/<name>`, for log lines. */
  readonly where: string;
  readonly scheduleArn: string;
  /** The occurrence fired, on the schedule's clock. */
  readonly scheduledAt: number;
}

/** Invokes `schedule`'s target once and logs the outcome; never throws. */
export async function invokeTarget(
  services: { readonly lambda: LambdaInvoker; readonly log: LogSink },
  schedule: StoredSchedule,
  invocation: Invocation,
): Promise<void> {
  const { lambda, log } = services;
  const { where, scheduleArn, scheduledAt } = invocation;
  const { Arn: arn, Input: input } = schedule.target;
  const when = `scheduled time ${formatScheduledTime(scheduledAt)}, real time ${new Date().toISOString()}`;
  const fn = isLambdaArn(arn) ? lambda.find(arn) : undefined;
  if (!fn) {
    log.line(
      'scheduler',
      `${where} is due (${when}) but its target ${arn} is not emulated (only Lambda functions of the template are invoked); nothing was invoked`,
    );
    return;
  }
  const payload = withContextAttributes(input ?? '{}', {
    scheduleArn,
    scheduledTime: scheduledAt,
    executionId: newExecutionId(),
    attemptNumber: 1,
  });
  try {
    await lambda.invoke(arn, payload, 'Event');
    log.line('scheduler', `${where} fired (${when}): invoked ${fn.name} asynchronously`);
  } catch (error) {
    log.line(
      'scheduler',
      `${where} fired (${when}) but invoking ${fn.name} failed: ${errorMessage(error)} (retries and dead-letter queues are not emulated)`,
    );
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isLambdaArn(arn: string): boolean {
  return /^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(arn);
}
