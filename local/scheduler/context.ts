/**
 * Scheduler's context attributes: keywords in a target's `Input` that each
 * invocation replaces with what it knows of itself (user guide, "Adding
 * context attributes").
 */
import { randomBytes } from 'node:crypto';

export interface InvocationContext {
  readonly scheduleArn: string;
  /** The time the invocation was scheduled for (not when it ran), epoch milliseconds. */
  readonly scheduledTime: number;
  /** Unique per attempted invocation. */
  readonly executionId: string;
  /** 1 for the first attempt (the only one here). */
  readonly attemptNumber: number;
}

/** `Input` with every context attribute replaced by its value. */
export function withContextAttributes(input: string, context: InvocationContext): string {
  return input
    .replaceAll('<aws.scheduler.schedule-arn>', context.scheduleArn)
    .replaceAll('<aws.scheduler.scheduled-time>', formatScheduledTime(context.scheduledTime))
    .replaceAll('<aws.scheduler.execution-id>', context.executionId)
    .replaceAll('<aws.scheduler.attempt-number>', String(context.attemptNumber));
}

/** ISO 8601 in UTC to the second, as AWS writes it: `2022-03-22T18:59:43Z`. */
export function formatScheduledTime(epochMs: number): string {
  return `${new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** An execution id shaped like AWS's (16 lower-case characters, e.g. `d32c5kddcf5bb8c3`). */
export function newExecutionId(): string {
  return randomBytes(8).toString('hex');
}
