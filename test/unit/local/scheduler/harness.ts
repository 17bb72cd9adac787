/**
 * A local EventBridge Scheduler behind the local cloud's own AWS endpoint
 * (which routes by the SigV4 signing name), driven by the real
 * `SchedulerClient`; its Lambda is a recorder unless a test gives a real one.
 */
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { AwsEndpoint } from '../../../../local/aws-endpoint';
import type {
  Caller,
  FunctionSpec,
  InvocationType,
  InvokeResult,
  LambdaInvoker,
  LocalEnv,
  ScheduleGroupSpec,
  ScheduleSpec,
} from '../../../../local/contracts';
import { LocalScheduler } from '../../../../local/scheduler';
import {
  ACCOUNT,
  fixtureSpec,
  functionArn,
  REGION,
  RecordingLog,
  TEST_ENV,
} from '../../../fixtures/lambda/harness';

export const WORKER_ARN = functionArn('Worker');
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/SchedulerRole`;
export const JOBS_GROUP: ScheduleGroupSpec = {
  logicalId: 'JobsGroup',
  name: 'jobs',
  arn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule-group/jobs`,
};

const ALICE: Caller = {
  accessKeyId: 'AKIALOCALALICE000001',
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  userId: 'AIDAALICE',
};

export interface Invocation {
  readonly functionRef: string;
  readonly payload: string;
  readonly type: InvocationType;
  readonly at: number;
}

/** Lambda with one function, `Worker`, that records what it is asked to run. */
export class RecordingLambda implements LambdaInvoker {
  readonly invocations: Invocation[] = [];
  readonly #spec: FunctionSpec = fixtureSpec('echo', { name: 'Worker' });

  find(functionRef: string): FunctionSpec | undefined {
    return functionRef === WORKER_ARN || functionRef.startsWith(`${WORKER_ARN}:`)
      ? this.#spec
      : undefined;
  }

  async invoke(functionRef: string, payload: string, type: InvocationType): Promise<InvokeResult> {
    this.invocations.push({ functionRef, payload, type, at: Date.now() });
    return { statusCode: 202, payload: '', executedVersion: '$LATEST' };
  }
}

export interface Harness {
  readonly client: SchedulerClient;
  readonly scheduler: LocalScheduler;
  readonly log: RecordingLog;
  close(): Promise<void>;
}

export async function startScheduler(
  options: {
    readonly lambda?: LambdaInvoker;
    readonly stateFile?: string;
    readonly start?: boolean;
    readonly env?: LocalEnv;
    readonly schedules?: readonly ScheduleSpec[];
    readonly random?: () => number;
  } = {},
): Promise<Harness> {
  const log = new RecordingLog();
  const scheduler = new LocalScheduler({
    env: options.env ?? TEST_ENV,
    lambda: options.lambda ?? new RecordingLambda(),
    log,
    groups: [JOBS_GROUP],
    schedules: options.schedules,
    stateFile: options.stateFile,
    random: options.random,
  });
  if (options.start !== false) scheduler.start();
  const endpoint = new AwsEndpoint(() => ({ ok: true, caller: ALICE }), log);
  endpoint.register(scheduler);
  const url = await endpoint.listen(0);
  const client = new SchedulerClient({
    endpoint: url,
    region: REGION,
    credentials: { accessKeyId: ALICE.accessKeyId, secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
  return {
    client,
    scheduler,
    log,
    close: async () => {
      client.destroy();
      await scheduler.close();
      await endpoint.close();
    },
  };
}

/** `at(...)` of the whole second at or after `ms` (UTC), and that second in epoch milliseconds. */
export function atSecond(ms: number): { readonly expression: string; readonly at: number } {
  const at = Math.ceil(ms / 1000) * 1000;
  return { expression: `at(${new Date(at).toISOString().slice(0, 19)})`, at };
}

/** A CreateSchedule input for the worker, as eventjobs' durable sleep sends it. */
export function sleepSchedule(
  name: string,
  expression: string,
  overrides: Record<string, unknown> = {},
) {
  return {
    Name: name,
    GroupName: 'jobs',
    ScheduleExpression: expression,
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' as const },
    ActionAfterCompletion: 'DELETE' as const,
    State: 'ENABLED' as const,
    Target: { Arn: WORKER_ARN, RoleArn: ROLE_ARN, Input: JSON.stringify({ wake: name }) },
    ...overrides,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries an async check until it passes or `timeoutMs` has gone by. */
export async function eventuallyAsync(
  check: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(10);
    }
  }
}
