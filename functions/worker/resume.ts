/**
 * How a suspended run is resumed: a continuation is an asynchronous invoke of
 * the worker (its own function) at once; a sleep's end is an EventBridge
 * Scheduler one-time schedule (`at()`, time zone UTC, flexible window off)
 * whose target is the worker with the same payload, deleted after it fires.
 */
import { createHash } from 'node:crypto';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  ConflictException,
  CreateScheduleCommand,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import type { WorkerPayload } from '../../core/events';

export interface Resumer {
  /** Hands the run to a fresh invocation of the worker now. */
  continueRun(payload: WorkerPayload, functionName: string): Promise<void>;
  /** Arranges for the worker to get `payload` at `at`. */
  wakeAt(payload: WorkerPayload, at: Date, timerName: string, functionArn: string): Promise<void>;
}

export interface ResumerClients {
  readonly lambda: LambdaClient;
  readonly scheduler: SchedulerClient;
  readonly timerRoleArn: string;
  readonly timerGroupName: string;
}

/** Scheduler's `at()` takes a local time to the second: `yyyy-mm-ddThh:mm:ss`, here in UTC. */
export function atExpression(at: Date): string {
  // Rounded up, so the timer never fires before the wake time.
  const seconds = new Date(Math.ceil(at.getTime() / 1000) * 1000);
  return `at(${seconds.toISOString().slice(0, 19)})`;
}

/**
 * A schedule's name: 1 to 64 of `[0-9a-zA-Z-_.]`. The run id (a ULID or UUID)
 * and a hash of the sleep's name make it unique; a repeated create of one
 * timer is a conflict, which means it exists.
 */
export function timerName(runId: string, sleepName: string): string {
  const id = runId.replace(/[^0-9A-Za-z_.-]/g, '').slice(0, 40);
  const hash = createHash('sha256').update(sleepName).digest('hex').slice(0, 16);
  return `wake-${id}-${hash}`;
}

export function resumerOf(clients: ResumerClients): Resumer {
  return {
    async continueRun(payload, functionName) {
      const response = await clients.lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: JSON.stringify(payload),
        }),
      );
      if (response.StatusCode !== 202 || response.FunctionError) {
        throw new Error(`Invoke of the continuation answered status ${response.StatusCode}`);
      }
    },
    async wakeAt(payload, at, name, functionArn) {
      try {
        await clients.scheduler.send(
          new CreateScheduleCommand({
            Name: name,
            GroupName: clients.timerGroupName,
            ScheduleExpression: atExpression(at),
            ScheduleExpressionTimezone: 'UTC',
            FlexibleTimeWindow: { Mode: 'OFF' },
            ActionAfterCompletion: 'DELETE',
            State: 'ENABLED',
            Description: `eventjobs: wakes run ${payload.runId} of ${payload.jobName}`,
            Target: {
              Arn: functionArn,
              RoleArn: clients.timerRoleArn,
              Input: JSON.stringify(payload),
            },
          }),
        );
      } catch (error) {
        // The same timer made by an earlier try of this invocation: it is there.
        if (!(error instanceof ConflictException)) throw error;
      }
    },
  };
}
