import {
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MalformedEventError } from '../../../../core/errors';
import { jobFinishedDetailSchema } from '../../../../core/event-schemas';
import type { WorkerPayload } from '../../../../core/events';
import { type CompletedRun, defineJobType, type JobType } from '../../../../core/job-type';
import type { ActiveJob, JobOutcome, WebhookDelivery } from '../../../../core/model';
import {
  type CompletionDeps,
  completeRun,
  type WebhookRequest,
} from '../../../../functions/completion/service';
import { getJobType } from '../../../../functions/shared/job-registry';
import { createJobMetrics, type JobMetrics } from '../../../../functions/shared/metrics';
import { JobStore } from '../../../../functions/shared/store';
import { activeItem, activeJob, jobOutcome, outcomeItem, USER_ARN } from '../../helpers/api-event';
import { capturePowertoolsOutput, type PowertoolsOutput } from '../../helpers/powertools-output';

const ddb = mockClient(DynamoDBClient);
// The handler puts Job Finished on the bus after each outcome.
const bus = mockClient(EventBridgeClient);

const RUN_ID = '01JDXR3Y5Q6Z8A9B0C1D2E3F4G';
const NOW = new Date('2026-01-05T10:00:10.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const RETENTION_SECONDS = 7 * 24 * 60 * 60;
const WORKER_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:eventjobs-worker:$LATEST';

function deps(overrides: Partial<CompletionDeps> = {}): CompletionDeps {
  return {
    store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
    retentionSeconds: RETENTION_SECONDS,
    now: () => new Date(NOW),
    getJobType,
    ...overrides,
  };
}

function running(overrides: Partial<ActiveJob> = {}): ActiveJob {
  return activeJob({
    runId: RUN_ID,
    type: 'echo',
    input: { value: 'hello' },
    createdAt: '2026-01-05T09:59:59.000Z',
    startedAt: '2026-01-05T10:00:00.000Z',
    attempt: 1,
    ...overrides,
  });
}

function outcomeDetail(extra: Record<string, unknown>) {
  return {
    owner: USER_ARN,
    jobName: 'nightly-report',
    runId: RUN_ID,
    type: 'echo',
    attempt: 1,
    startedAt: '2026-01-05T10:00:00.000Z',
    finishedAt: '2026-01-05T10:00:02.500Z',
    durationMs: 2500,
    ...extra,
  };
}

/** An event as EventBridge delivers it to a Lambda target. */
function busEvent(source: string, detailType: string, detail: unknown, resources: string[] = []) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': detailType,
    source,
    account: '123456789012',
    time: '2026-01-05T10:00:03Z',
    region: 'us-east-1',
    resources,
    detail,
  };
}

function workerPayload(overrides: Partial<WorkerPayload> = {}): WorkerPayload {
  return {
    owner: USER_ARN,
    jobName: 'nightly-report',
    runId: RUN_ID,
    type: 'echo',
    input: { value: 'hello' },
    submittedAt: '2026-01-05T09:59:59.000Z',
    ...overrides,
  };
}

/** What Lambda puts on the worker's OnFailure destination (AWS-FACTS). */
function workerFailureEvent(
  options: {
    condition?: string;
    approximateInvokeCount?: number;
    requestPayload?: unknown;
    responsePayload?: unknown;
  } = {},
) {
  const detail: Record<string, unknown> = {
    version: '1.0',
    timestamp: '2026-01-05T10:15:00.123Z',
    requestContext: {
      requestId: 'c1b0ff7d-0bb4-4d8d-b5c4-0e5e3b0a9a11',
      functionArn: WORKER_ARN,
      condition: options.condition ?? 'RetriesExhausted',
      approximateInvokeCount: options.approximateInvokeCount ?? 3,
    },
    requestPayload: 'requestPayload' in options ? options.requestPayload : workerPayload(),
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    },
  };
  if (options.responsePayload !== undefined) detail.responsePayload = options.responsePayload;
  return busEvent('lambda', 'Lambda Function Invocation Result - Failure', detail, [
    'arn:aws:events:us-east-1:123456789012:event-bus/eventjobs',
    WORKER_ARN,
  ]);
}

function givenActive(job: ActiveJob | undefined): void {
  ddb.on(GetItemCommand).callsFake(async () => ({ Item: job ? await activeItem(job) : undefined }));
}

/** The one transaction the store sent: the outcome item and the conditional delete. */
function writtenTransaction() {
  const calls = ddb.commandCalls(TransactWriteItemsCommand);
  expect(calls).toHaveLength(1);
  const items = calls[0]?.args[0].input.TransactItems ?? [];
  const put = items[0]?.Put;
  const del = items[1]?.Delete;
  return { put, del, item: put?.Item ?? {} };
}

function transactionCancelled(codes: string[]) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

function onlyType(type: JobType): (name: string) => JobType | undefined {
  return (name) => (name === type.name ? type : undefined);
}

beforeEach(() => {
  bus.reset();
  bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  ddb.reset();
  givenActive(running());
  ddb.on(TransactWriteItemsCommand).resolves({});
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

describe('completion: the worker reports an outcome', () => {
  it('records Job Completed as SUCCEEDED with the result, and deletes the active record of that run', async () => {
    // Prepare
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: { rows: 42 } }));

    // Act
    const result = await completeRun(event, deps());

    // Assess
    expect(result.status).toBe('finished');
    const { put, del, item } = writtenTransaction();
    expect(put?.TableName).toBe('jobs-table');
    expect(item).toMatchObject({
      sk: { S: `RUN#${RUN_ID}` },
      status: { S: 'SUCCEEDED' },
      type: { S: 'echo' },
      input: { S: '{"value":"hello"}' },
      createdAt: { S: '2026-01-05T09:59:59.000Z' },
      startedAt: { S: '2026-01-05T10:00:00.000Z' },
      finishedAt: { S: '2026-01-05T10:00:02.500Z' },
      durationMs: { N: '2500' },
      attempt: { N: '1' },
      expiresAt: { N: String(NOW_SECONDS + RETENTION_SECONDS) },
    });
    expect(JSON.parse(item.result?.S ?? 'null')).toEqual({ rows: 42 });
    expect(item.error).toBeUndefined();
    expect(del?.Key).toEqual({ pk: { S: `JOB#${USER_ARN}#nightly-report` }, sk: { S: 'ACTIVE' } });
    expect(del?.ExpressionAttributeValues?.[':runId']).toEqual({ S: RUN_ID });
  });

  it('records Job Failed as FAILED with the error', async () => {
    // Prepare
    const error = { name: 'QuotaExceededError', message: 'Over quota' };
    const event = busEvent('eventjobs', 'Job Failed', outcomeDetail({ error }));

    // Act
    await completeRun(event, deps());

    // Assess
    const { item } = writtenTransaction();
    expect(item.status).toEqual({ S: 'FAILED' });
    expect(item.error).toEqual({
      M: { name: { S: 'QuotaExceededError' }, message: { S: 'Over quota' } },
    });
    expect(item.result).toBeUndefined();
  });

  it('records Job Cancelled as CANCELLED with when the cancel was requested and why it stopped', async () => {
    // Prepare
    givenActive(running({ cancelRequestedAt: '2026-01-05T10:00:01.000Z' }));
    const reason = 'Cancel requested at 2026-01-05T10:00:01.000Z';
    const event = busEvent('eventjobs', 'Job Cancelled', outcomeDetail({ reason }));

    // Act
    await completeRun(event, deps());

    // Assess
    const { item } = writtenTransaction();
    expect(item).toMatchObject({
      status: { S: 'CANCELLED' },
      cancelRequestedAt: { S: '2026-01-05T10:00:01.000Z' },
      error: { M: { name: { S: 'JobCancelledError' }, message: { S: reason } } },
    });
  });

  it('keeps the deadline the start asked for (timeoutSeconds), and who started the run, for a replay', async () => {
    // Prepare
    const startedBy = {
      kind: 'replay',
      jobName: 'first',
      runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F40',
    } as const;
    givenActive(running({ timeoutSeconds: 90, startedBy }));
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act
    await completeRun(event, deps());

    // Assess
    const { item } = writtenTransaction();
    expect(item.timeoutSeconds).toEqual({ N: '90' });
    expect(item.startedBy).toEqual({ S: JSON.stringify(startedBy) });
  });

  it('keeps a null result', async () => {
    // Prepare
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: null }));

    // Act
    await completeRun(event, deps());

    // Assess
    expect(writtenTransaction().item.result).toEqual({ S: 'null' });
  });

  it('takes the retention period from its dependencies', async () => {
    // Prepare
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act
    await completeRun(event, deps({ retentionSeconds: 60 }));

    // Assess
    expect(writtenTransaction().item.expiresAt).toEqual({ N: String(NOW_SECONDS + 60) });
  });
});

describe('completion: duplicate and late events', () => {
  it('ignores an event whose job has no active record', async () => {
    // Prepare
    givenActive(undefined);
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act
    const result = await completeRun(event, deps());

    // Assess
    expect(result).toEqual({ status: 'ignored', reason: 'Duplicate or late event, ignored' });
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('ignores an event of an older run when the name now runs another', async () => {
    // Prepare
    givenActive(running({ runId: '01JDXZZZZZZZZZZZZZZZZZZZZZ' }));
    const event = busEvent(
      'eventjobs',
      'Job Failed',
      outcomeDetail({ error: { name: 'E', message: 'm' } }),
    );

    // Act
    const result = await completeRun(event, deps());

    // Assess
    expect(result.status).toBe('ignored');
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('does not throw when the run ended between reading and writing (the condition fails)', async () => {
    // Prepare
    ddb
      .on(TransactWriteItemsCommand)
      .rejects(transactionCancelled(['None', 'ConditionalCheckFailed']));
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act
    const result = await completeRun(event, deps());

    // Assess
    expect(result.status).toBe('ignored');
  });

  it('throws when the write fails for another reason, so Lambda retries it', async () => {
    // Prepare
    ddb
      .on(TransactWriteItemsCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'Slow down', $metadata: {} }));
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act
    const completing = completeRun(event, deps());

    // Assess
    await expect(completing).rejects.toThrow('Slow down');
  });
});

describe('completion: the worker itself failed (OnFailure destination)', () => {
  it('records a worker timeout as FAILED WorkerTimeout', async () => {
    // Prepare
    const event = workerFailureEvent({
      responsePayload: {
        errorMessage:
          '2026-01-05T10:15:00.100Z c1b0ff7d-0bb4-4d8d-b5c4-0e5e3b0a9a11 Task timed out after 3.00 seconds',
      },
    });

    // Act
    const result = await completeRun(event, deps());

    // Assess
    expect(result.status).toBe('finished');
    const { item, del } = writtenTransaction();
    expect(item).toMatchObject({
      status: { S: 'FAILED' },
      attempt: { N: '3' },
      startedAt: { S: '2026-01-05T10:00:00.000Z' },
      finishedAt: { S: '2026-01-05T10:15:00.123Z' },
      durationMs: { N: '900123' },
      error: {
        M: {
          name: { S: 'WorkerTimeout' },
          message: { S: expect.stringContaining('Task timed out after 3.00 seconds') },
        },
      },
    });
    expect(del?.ExpressionAttributeValues?.[':runId']).toEqual({ S: RUN_ID });
  });

  it('records the error type and message of a worker that kept throwing', async () => {
    // Prepare
    const event = workerFailureEvent({
      responsePayload: {
        errorType: 'EventDeliveryError',
        errorMessage: 'PutEvents did not accept the "Job Completed" event: InternalFailure: oops',
        trace: ['EventDeliveryError: ...', '    at report (file:///var/task/index.mjs:1:1)'],
      },
    });

    // Act
    await completeRun(event, deps());

    // Assess
    const { item } = writtenTransaction();
    expect(item.error).toEqual({
      M: {
        name: { S: 'EventDeliveryError' },
        message: { S: 'PutEvents did not accept the "Job Completed" event: InternalFailure: oops' },
      },
    });
  });

  it('records an expired invocation as FAILED EventAgeExceeded', async () => {
    // Prepare
    givenActive(running({ startedAt: undefined, attempt: undefined }));
    const event = workerFailureEvent({ condition: 'EventAgeExceeded', approximateInvokeCount: 0 });

    // Act
    await completeRun(event, deps());

    // Assess
    const { item } = writtenTransaction();
    expect(item.status).toEqual({ S: 'FAILED' });
    expect(item.error?.M?.name).toEqual({ S: 'EventAgeExceeded' });
    expect(item.attempt).toBeUndefined();
    expect(item.startedAt).toBeUndefined();
  });

  it('records a failure without an error payload as FAILED WorkerFailed', async () => {
    // Prepare
    const event = workerFailureEvent({ condition: 'RetriesExhausted' });

    // Act
    await completeRun(event, deps());

    // Assess
    expect(writtenTransaction().item.error).toEqual({
      M: {
        name: { S: 'WorkerFailed' },
        message: { S: 'The worker invocation failed: RetriesExhausted' },
      },
    });
  });

  it('ignores a failure record of a run that already ended', async () => {
    // Prepare
    givenActive(undefined);

    // Act
    const result = await completeRun(workerFailureEvent(), deps());

    // Assess
    expect(result.status).toBe('ignored');
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('throws MalformedEventError when the failed invocation carried no worker payload', async () => {
    // Prepare
    const event = workerFailureEvent({ requestPayload: { hello: 'world' } });

    // Act
    const completing = completeRun(event, deps());

    // Assess
    await expect(completing).rejects.toThrow(MalformedEventError);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('completion: a worker that died while running a run with checkpoints', () => {
  it('hands the run to redrive instead of recording FAILED, when redrive takes it', async () => {
    // Prepare
    const active = running({ checkpointed: true, leaseId: 'dead-invocation', maxAttempts: 3 });
    givenActive(active);
    const redrive = vi.fn(async () => true);

    // Act
    const result = await completeRun(workerFailureEvent(), deps({ redrive }));

    // Assess
    expect(result.status).toBe('ignored');
    expect(redrive).toHaveBeenCalledTimes(1);
    expect(redrive.mock.calls[0]).toEqual([
      expect.objectContaining({ runId: RUN_ID, checkpointed: true }),
      NOW,
    ]);
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('records FAILED as before when redrive declines (no checkpoints, attempts spent, deadline passed)', async () => {
    // Prepare
    const redrive = vi.fn(async () => false);

    // Act
    const result = await completeRun(workerFailureEvent(), deps({ redrive }));

    // Assess
    expect(redrive).toHaveBeenCalledTimes(1);
    expect(result.status).toBe('finished');
    expect(writtenTransaction().item).toMatchObject({ status: { S: 'FAILED' } });
  });

  it("never asks redrive about the worker's own outcome events", async () => {
    // Prepare
    givenActive(running({ checkpointed: true }));
    const redrive = vi.fn(async () => true);

    // Act
    const result = await completeRun(
      busEvent('eventjobs', 'Job Failed', outcomeDetail({ error: { name: 'Boom', message: 'x' } })),
      deps({ redrive }),
    );

    // Assess
    expect(redrive).not.toHaveBeenCalled();
    expect(result.status).toBe('finished');
  });
});

describe('completion: malformed events', () => {
  it.each([
    ['not an object', 'Job Completed'],
    [
      'an event from another source',
      busEvent('other.app', 'Job Completed', outcomeDetail({ result: 1 })),
    ],
    ['an unknown detail-type', busEvent('eventjobs', 'Job Exploded', outcomeDetail({}))],
    [
      'a Job Completed without a run id',
      busEvent('eventjobs', 'Job Completed', outcomeDetail({ runId: undefined, result: 1 })),
    ],
    ['a Job Failed without an error', busEvent('eventjobs', 'Job Failed', outcomeDetail({}))],
    [
      'a Lambda success record',
      busEvent('lambda', 'Lambda Function Invocation Result - Success', {}),
    ],
    [
      'a Lambda failure record without its request context',
      busEvent('lambda', 'Lambda Function Invocation Result - Failure', { version: '1.0' }),
    ],
  ])('throws MalformedEventError for %s, touching nothing', async (_label, event) => {
    // Act
    const completing = completeRun(event, deps());

    // Assess
    await expect(completing).rejects.toThrow(MalformedEventError);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('completion: onComplete hooks', () => {
  function hookedType(
    onComplete: (run: CompletedRun<{ value: number }, unknown>) => Promise<void>,
  ) {
    return defineJobType({
      name: 'hooked',
      description: 'A type with an onComplete hook',
      input: z.strictObject({ value: z.number() }),
      run: async ({ value }) => ({ doubled: value * 2 }),
      onComplete,
    });
  }

  it('runs the type hook with the run outcome and its input before recording it', async () => {
    // Prepare
    const onComplete = vi.fn(async () => undefined);
    givenActive(running({ type: 'hooked', input: { value: 21 } }));
    const event = busEvent(
      'eventjobs',
      'Job Completed',
      outcomeDetail({ type: 'hooked', result: { doubled: 42 } }),
    );

    // Act
    await completeRun(event, deps({ getJobType: onlyType(hookedType(onComplete)) }));

    // Assess
    expect(onComplete).toHaveBeenCalledExactlyOnceWith({
      jobName: 'nightly-report',
      runId: RUN_ID,
      type: 'hooked',
      status: 'SUCCEEDED',
      input: { value: 21 },
      result: { doubled: 42 },
      error: undefined,
    });
    expect(writtenTransaction().item.status).toEqual({ S: 'SUCCEEDED' });
  });

  it('gives the hook the error of a failed run', async () => {
    // Prepare
    const onComplete = vi.fn(async () => undefined);
    givenActive(running({ type: 'hooked', input: { value: 1 } }));
    const error = { name: 'WorkerTimeout', message: 'Task timed out after 3.00 seconds' };
    const event = busEvent('eventjobs', 'Job Failed', outcomeDetail({ type: 'hooked', error }));

    // Act
    await completeRun(event, deps({ getJobType: onlyType(hookedType(onComplete)) }));

    // Assess
    expect(onComplete).toHaveBeenCalledWith(expect.objectContaining({ status: 'FAILED', error }));
  });

  it('records the run as FAILED OnCompleteError when the hook throws, keeping the result', async () => {
    // Prepare
    const onComplete = vi.fn(async () => {
      throw new Error('Report bucket is gone');
    });
    givenActive(running({ type: 'hooked', input: { value: 21 } }));
    const event = busEvent(
      'eventjobs',
      'Job Completed',
      outcomeDetail({ type: 'hooked', result: { doubled: 42 } }),
    );

    // Act
    const result = await completeRun(event, deps({ getJobType: onlyType(hookedType(onComplete)) }));

    // Assess
    expect(result.status).toBe('finished');
    const { item } = writtenTransaction();
    expect(item.status).toEqual({ S: 'FAILED' });
    expect(item.error).toEqual({
      M: { name: { S: 'OnCompleteError' }, message: { S: 'Report bucket is gone' } },
    });
    expect(JSON.parse(item.result?.S ?? 'null')).toEqual({ doubled: 42 });
  });

  it('does not run the hook for a duplicate event', async () => {
    // Prepare
    const onComplete = vi.fn(async () => undefined);
    givenActive(undefined);
    const event = busEvent(
      'eventjobs',
      'Job Completed',
      outcomeDetail({ type: 'hooked', result: 1 }),
    );

    // Act
    await completeRun(event, deps({ getJobType: onlyType(hookedType(onComplete)) }));

    // Assess
    expect(onComplete).not.toHaveBeenCalled();
  });
});

describe('completion handler', () => {
  async function loadHandler() {
    vi.resetModules();
    return (await import('../../../../functions/completion/handler')).handler;
  }

  beforeEach(() => {
    // A run whose worker died is re-driven through the worker function.
    vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  });

  it('records the outcome in the table named in its environment with its retention', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    vi.stubEnv(
      'WEBHOOK_SECRET_ARN',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf',
    );
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('OUTCOME_RETENTION_SECONDS', '3600');
    const handler = await loadHandler();
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act
    await handler(event);

    // Assess
    const { put, item } = writtenTransaction();
    expect(put?.TableName).toBe('jobs-from-env');
    expect(item.expiresAt).toEqual({ N: String(NOW_SECONDS + 3600) });
  });

  it('keeps outcomes for 7 days by default', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    vi.stubEnv(
      'WEBHOOK_SECRET_ARN',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf',
    );
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('OUTCOME_RETENTION_SECONDS', '');
    const handler = await loadHandler();
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act
    await handler(event);

    // Assess
    expect(writtenTransaction().item.expiresAt).toEqual({ N: String(NOW_SECONDS + 604_800) });
  });

  it('throws for an event it cannot read, so it reaches the dead-letter queue', async () => {
    // Prepare
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    vi.stubEnv(
      'WEBHOOK_SECRET_ARN',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf',
    );
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    const handler = await loadHandler();

    // Act
    const completing = handler(busEvent('eventjobs', 'Job Completed', { nope: true }));

    // Assess
    // (A fresh module graph has its own error classes, so the name is compared.)
    await expect(completing).rejects.toMatchObject({ name: 'MalformedEventError' });
  });
});

describe('completion: timeouts and retried failures', () => {
  it('records Job Timed Out as TIMED_OUT with the reason', async () => {
    // Prepare
    givenActive(running({ deadlineAt: '2026-01-05T10:00:02.000Z' }));
    const reason = 'The run did not finish by its deadline (2026-01-05T10:00:02.000Z)';
    const event = busEvent(
      'eventjobs',
      'Job Timed Out',
      outcomeDetail({ reason, reportedBy: 'worker', deadlineAt: '2026-01-05T10:00:02.000Z' }),
    );

    // Act
    const result = await completeRun(event, deps());

    // Assess
    expect(result.status).toBe('finished');
    const { item } = writtenTransaction();
    expect(item).toMatchObject({
      status: { S: 'TIMED_OUT' },
      deadlineAt: { S: '2026-01-05T10:00:02.000Z' },
      error: { M: { name: { S: 'JobTimedOut' }, message: { S: reason } } },
    });
  });

  it("records the sweeper's Job Timed Out for a run that never started", async () => {
    // Prepare
    givenActive(running({ startedAt: undefined, attempt: undefined }));
    const event = busEvent('eventjobs', 'Job Timed Out', {
      owner: USER_ARN,
      jobName: 'nightly-report',
      runId: RUN_ID,
      type: 'echo',
      finishedAt: '2026-01-05T16:00:00.000Z',
      reason: 'The run never started',
      reportedBy: 'sweeper',
    });

    // Act
    await completeRun(event, deps());

    // Assess
    const { item } = writtenTransaction();
    expect(item.status).toEqual({ S: 'TIMED_OUT' });
    expect(item.startedAt).toBeUndefined();
    expect(item.attempt).toBeUndefined();
  });

  it("keeps every attempt's error of a retried run that failed", async () => {
    // Prepare
    const attempts = [1, 2, 3].map((attempt) => ({
      attempt,
      error: { name: 'FlakyError', message: `Attempt ${attempt} failed on purpose` },
      at: `2026-01-05T10:00:0${attempt}.000Z`,
    }));
    const event = busEvent(
      'eventjobs',
      'Job Failed',
      outcomeDetail({ attempt: 3, error: attempts[2]?.error, attempts }),
    );

    // Act
    const result = await completeRun(event, deps());

    // Assess
    expect(result.status === 'finished' && result.outcome.attempts).toEqual(attempts);
    expect(JSON.parse(writtenTransaction().item.attempts?.S ?? 'null')).toEqual(attempts);
  });
});

describe('completion: only the first terminal event of a run counts', () => {
  /** A one-record table whose active record goes away with the first finished transaction. */
  function statefulTable(): void {
    let active: ActiveJob | undefined = running();
    ddb.on(GetItemCommand).callsFake(async () => ({
      Item: active ? await activeItem(active) : undefined,
    }));
    ddb.on(TransactWriteItemsCommand).callsFake(async () => {
      if (!active) throw transactionCancelled(['None', 'ConditionalCheckFailed']);
      active = undefined;
      return {};
    });
  }

  it.each([
    [
      'a duplicate Job Completed',
      busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 2 })),
    ],
    [
      'a Job Failed after Job Completed',
      busEvent('eventjobs', 'Job Failed', outcomeDetail({ error: { name: 'E', message: 'm' } })),
    ],
    [
      "the sweeper's late Job Timed Out",
      busEvent(
        'eventjobs',
        'Job Timed Out',
        outcomeDetail({ reason: 'late', reportedBy: 'sweeper' }),
      ),
    ],
    [
      'a late Job Cancelled',
      busEvent(
        'eventjobs',
        'Job Cancelled',
        outcomeDetail({ reason: 'late', reportedBy: 'sweeper' }),
      ),
    ],
    ['a failure-destination record', workerFailureEvent()],
  ])('ignores %s', async (_name, second) => {
    // Prepare
    statefulTable();
    const first = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act
    const results = [await completeRun(first, deps()), await completeRun(second, deps())];

    // Assess
    expect(results.map((r) => r.status)).toEqual(['finished', 'ignored']);
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(1);
  });

  it('ignores the same failure-destination record delivered twice', async () => {
    // Prepare
    statefulTable();

    // Act
    const results = [
      await completeRun(workerFailureEvent(), deps()),
      await completeRun(workerFailureEvent(), deps()),
    ];

    // Assess
    expect(results.map((r) => r.status)).toEqual(['finished', 'ignored']);
  });
});

describe('completion: webhooks', () => {
  const URL = 'https://hooks.example.com/eventjobs';
  const delivered: WebhookDelivery = {
    url: URL,
    delivered: true,
    attempts: 1,
    status: 204,
    lastAttemptAt: '2026-01-05T10:00:10.100Z',
    deliveredAt: '2026-01-05T10:00:10.200Z',
  };

  /** GetItem answers the active record for `sk: ACTIVE` and the outcome for `sk: RUN#...`. */
  function givenTable(active: ActiveJob | undefined, outcome: JobOutcome | undefined): void {
    ddb.on(GetItemCommand).callsFake(async (input: { Key: { sk: { S: string } } }) => {
      if (input.Key.sk.S === 'ACTIVE')
        return { Item: active ? await activeItem(active) : undefined };
      return { Item: outcome ? await outcomeItem(outcome) : undefined };
    });
    ddb.on(UpdateItemCommand).resolves({});
  }

  it('POSTs the finished run to its callback and records the delivery on the outcome', async () => {
    // Prepare
    givenTable(running({ callbackUrl: URL }), undefined);
    const deliverWebhook = vi.fn(async (_request: WebhookRequest) => delivered);
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: { rows: 42 } }));

    // Act
    const result = await completeRun(event, deps({ deliverWebhook }));

    // Assess: one signed delivery of the outcome, keyed by the run id
    expect(result.status).toBe('finished');
    expect(writtenTransaction().item.callbackUrl).toEqual({ S: URL });
    expect(deliverWebhook).toHaveBeenCalledTimes(1);
    const request = deliverWebhook.mock.calls[0]?.[0];
    if (!request) throw new Error('no delivery');
    expect(request.url).toBe(URL);
    expect(request.deliveryId).toBe(RUN_ID);
    expect(JSON.parse(request.body)).toMatchObject({
      deliveryId: RUN_ID,
      event: 'Job Completed',
      job: { jobName: 'nightly-report', runId: RUN_ID, status: 'SUCCEEDED', result: { rows: 42 } },
    });
    const update = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(update?.Key).toEqual({
      pk: { S: `JOB#${USER_ARN}#nightly-report` },
      sk: { S: `RUN#${RUN_ID}` },
    });
    expect(update?.ConditionExpression).toBe('attribute_exists(pk)');
    expect(JSON.parse(update?.ExpressionAttributeValues?.[':webhook']?.S ?? 'null')).toEqual(
      delivered,
    );
  });

  it('records a delivery that failed for good, and does not throw', async () => {
    givenTable(running({ callbackUrl: URL }), undefined);
    const failed: WebhookDelivery = {
      url: URL,
      delivered: false,
      attempts: 5,
      status: 503,
      error: 'The receiver answered 503',
      lastAttemptAt: '2026-01-05T10:00:30.000Z',
    };
    const event = busEvent(
      'eventjobs',
      'Job Failed',
      outcomeDetail({ error: { name: 'E', message: 'm' } }),
    );

    const result = await completeRun(event, deps({ deliverWebhook: async () => failed }));

    expect(result.status).toBe('finished');
    const update = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(JSON.parse(update?.ExpressionAttributeValues?.[':webhook']?.S ?? 'null')).toEqual(
      failed,
    );
  });

  it('sends nothing for a run without a callback', async () => {
    givenTable(running(), undefined);
    const deliverWebhook = vi.fn(async () => delivered);

    await completeRun(
      busEvent('eventjobs', 'Job Completed', outcomeDetail({})),
      deps({ deliverWebhook }),
    );

    expect(deliverWebhook).not.toHaveBeenCalled();
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  it('delivers on a duplicate event when the first completion died before settling the webhook', async () => {
    // Prepare: the run is finished, its outcome has a callback and no delivery record
    givenTable(undefined, jobOutcome({ runId: RUN_ID, callbackUrl: URL, status: 'SUCCEEDED' }));
    const deliverWebhook = vi.fn(async () => delivered);

    // Act
    const result = await completeRun(
      busEvent('eventjobs', 'Job Completed', outcomeDetail({})),
      deps({ deliverWebhook }),
    );

    // Assess
    expect(result.status).toBe('ignored');
    expect(deliverWebhook).toHaveBeenCalledTimes(1);
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it('does not deliver again once a delivery is recorded', async () => {
    givenTable(undefined, jobOutcome({ runId: RUN_ID, callbackUrl: URL, webhook: delivered }));
    const deliverWebhook = vi.fn(async () => delivered);

    await completeRun(
      busEvent('eventjobs', 'Job Completed', outcomeDetail({})),
      deps({ deliverWebhook }),
    );

    expect(deliverWebhook).not.toHaveBeenCalled();
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });
});

describe('completion: announcing runs the failure destination ended', () => {
  it('puts Job Failed, reported by completion, for a run Lambda gave up on', async () => {
    // Prepare
    const putEvent = vi.fn(async (_detailType: string, _detail: unknown) => undefined);

    // Act
    const result = await completeRun(
      workerFailureEvent({
        responsePayload: { errorType: 'Runtime.ExitError', errorMessage: 'exit 1' },
      }),
      deps({ putEvent }),
    );

    // Assess
    expect(result.status).toBe('finished');
    expect(putEvent.mock.calls.map(([type]) => type)).toEqual(['Job Failed', 'Job Finished']);
    const [detailType, detail] = putEvent.mock.calls[0] as unknown as [
      string,
      Record<string, unknown>,
    ];
    expect(detailType).toBe('Job Failed');
    expect(detail).toMatchObject({
      owner: USER_ARN,
      jobName: 'nightly-report',
      runId: RUN_ID,
      type: 'echo',
      reportedBy: 'completion',
      error: { name: 'Runtime.ExitError', message: 'exit 1' },
    });
  });

  it('puts no Job Failed for a run the worker reported itself (only the Job Finished of every run)', async () => {
    const putEvent = vi.fn(async (_detailType: string, _detail: unknown) => undefined);

    await completeRun(
      busEvent('eventjobs', 'Job Failed', outcomeDetail({ error: { name: 'E', message: 'm' } })),
      deps({ putEvent }),
    );

    expect(putEvent.mock.calls.map(([type]) => type)).toEqual(['Job Finished']);
  });

  it('still records the outcome when the Job Failed announcement cannot be put', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const putEvent = vi.fn(async (detailType: string, _detail: unknown) => {
      if (detailType === 'Job Failed') throw new Error('ThrottlingException');
    });

    const result = await completeRun(workerFailureEvent(), deps({ putEvent }));

    expect(result.status).toBe('finished');
    expect(writtenTransaction().item.status).toEqual({ S: 'FAILED' });
  });
});

describe('completion: Job Finished, the recorded outcome for apps (onOutcome)', () => {
  it('puts Job Finished with the recorded outcome once it is written, then records that it did', async () => {
    const putEvent = vi.fn(async (_detailType: string, _detail: unknown) => undefined);
    ddb.on(UpdateItemCommand).resolves({});

    const result = await completeRun(
      busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: { rows: 3 } })),
      deps({ putEvent }),
    );

    expect(result.status).toBe('finished');
    expect(putEvent).toHaveBeenCalledTimes(1);
    expect(putEvent.mock.calls[0]).toEqual([
      'Job Finished',
      expect.objectContaining({
        owner: USER_ARN,
        runId: RUN_ID,
        type: 'echo',
        status: 'SUCCEEDED',
        result: { rows: 3 },
      }),
    ]);
    const marks = ddb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
    expect(marks).toEqual([
      expect.objectContaining({
        UpdateExpression: 'SET announcedAt = :at',
        ExpressionAttributeValues: { ':at': { S: NOW.toISOString() } },
      }),
    ]);
  });

  it("puts a replay's Job Finished with startedBy, valid against the published detail schema", async () => {
    const putEvent = vi.fn(async (_detailType: string, _detail: unknown) => undefined);
    ddb.on(UpdateItemCommand).resolves({});
    const startedBy = {
      kind: 'replay',
      jobName: 'first',
      runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F40',
    } as const;
    givenActive(running({ startedBy }));

    await completeRun(
      busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 })),
      deps({ putEvent }),
    );

    const detail = putEvent.mock.calls[0]?.[1];
    expect(detail).toMatchObject({ startedBy });
    expect(jobFinishedDetailSchema.safeParse(detail).success).toBe(true);
  });

  it('a put that fails throws, so the event is retried; the retry finds the run ended and puts it', async () => {
    const failing = vi.fn(async () => {
      throw new Error('ThrottlingException');
    });
    await expect(
      completeRun(
        busEvent('eventjobs', 'Job Completed', outcomeDetail({})),
        deps({ putEvent: failing }),
      ),
    ).rejects.toThrow('ThrottlingException');
    expect(writtenTransaction().item.status).toEqual({ S: 'SUCCEEDED' });

    // The retry: the run ended (no active record), its outcome has no announcedAt yet.
    ddb.reset();
    ddb.on(GetItemCommand).callsFake(async (input: { Key: { sk: { S: string } } }) => ({
      Item: input.Key.sk.S.startsWith('RUN#')
        ? await outcomeItem(jobOutcome({ runId: RUN_ID, type: 'echo', status: 'SUCCEEDED' }))
        : undefined,
    }));
    ddb.on(UpdateItemCommand).resolves({});
    const putEvent = vi.fn(async (_detailType: string, _detail: unknown) => undefined);
    const retried = await completeRun(
      busEvent('eventjobs', 'Job Completed', outcomeDetail({})),
      deps({ putEvent }),
    );
    expect(retried.status).toBe('ignored');
    expect(putEvent.mock.calls.map(([type]) => type)).toEqual(['Job Finished']);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it('a duplicate of a run whose Job Finished was put puts nothing again', async () => {
    ddb.on(GetItemCommand).callsFake(async (input: { Key: { sk: { S: string } } }) => ({
      Item: input.Key.sk.S.startsWith('RUN#')
        ? await outcomeItem(
            jobOutcome({
              runId: RUN_ID,
              type: 'echo',
              status: 'SUCCEEDED',
              announcedAt: '2026-01-05T10:00:05.000Z',
            }),
          )
        : undefined,
    }));
    const putEvent = vi.fn(async () => undefined);

    const result = await completeRun(
      busEvent('eventjobs', 'Job Completed', outcomeDetail({})),
      deps({ putEvent }),
    );

    expect(result.status).toBe('ignored');
    expect(putEvent).not.toHaveBeenCalled();
  });
});

describe('completion: metrics', () => {
  let output: PowertoolsOutput;

  beforeEach(() => {
    output = capturePowertoolsOutput();
  });

  /** The one EMF line a publish wrote, reduced to what an operator reads: values by metric name. */
  function publishedFigures(metrics: JobMetrics): Record<string, unknown> {
    metrics.publish();
    const [emf, ...more] = output.emf();
    expect(more).toEqual([]);
    expect(emf?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'eventjobs',
        Dimensions: [['type']],
        Metrics: expect.any(Array),
      },
    ]);
    const { _aws, ...figures } = emf ?? { _aws: undefined };
    return figures;
  }

  it.each([
    [
      'Job Completed',
      busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 })),
      { JobsSucceeded: 1, RunDuration: 2500 },
    ],
    [
      'Job Failed',
      busEvent('eventjobs', 'Job Failed', outcomeDetail({ error: { name: 'E', message: 'm' } })),
      { JobsFailed: 1, RunDuration: 2500 },
    ],
    [
      'Job Cancelled',
      busEvent(
        'eventjobs',
        'Job Cancelled',
        outcomeDetail({ reason: 'Cancel requested', reportedBy: 'worker' }),
      ),
      { JobsCancelled: 1, RunDuration: 2500 },
    ],
    [
      'Job Timed Out',
      busEvent(
        'eventjobs',
        'Job Timed Out',
        outcomeDetail({ reason: 'Deadline passed', reportedBy: 'worker' }),
      ),
      { JobsTimedOut: 1, RunDuration: 2500 },
    ],
    [
      'a failure-destination record (the run started at 10:00:00, Lambda gave up at 10:15:00.123)',
      workerFailureEvent(),
      { JobsFailed: 1, RunDuration: 900_123 },
    ],
  ])('counts the outcome %s records, by type, with its duration', async (_name, event, figures) => {
    // Prepare
    const metrics = createJobMetrics();

    // Act
    await completeRun(event, deps({ metrics }));

    // Assess
    expect(publishedFigures(metrics)).toEqual({ type: 'echo', ...figures });
    const units = output.emf()[0]?._aws.CloudWatchMetrics[0]?.Metrics;
    expect(units).toContainEqual({ Name: 'RunDuration', Unit: 'Milliseconds' });
  });

  it('counts a run that never started without a duration', async () => {
    // Prepare
    givenActive(running({ startedAt: undefined, attempt: undefined }));
    const metrics = createJobMetrics();
    const event = busEvent('eventjobs', 'Job Timed Out', {
      owner: USER_ARN,
      jobName: 'nightly-report',
      runId: RUN_ID,
      type: 'echo',
      finishedAt: '2026-01-05T16:00:00.000Z',
      reason: 'The run never started',
      reportedBy: 'sweeper',
    });

    // Act
    await completeRun(event, deps({ metrics }));

    // Assess
    expect(publishedFigures(metrics)).toEqual({ type: 'echo', JobsTimedOut: 1 });
  });

  it('counts nothing for an event whose run already ended', async () => {
    // Prepare
    givenActive(undefined);
    const metrics = createJobMetrics();

    // Act
    await completeRun(busEvent('eventjobs', 'Job Completed', outcomeDetail({})), deps({ metrics }));
    metrics.publish();

    // Assess: no EMF line, and no warning about publishing nothing
    expect(output.emf()).toEqual([]);
    expect(output.logs().filter((line) => line.level === 'WARN')).toEqual([]);
  });

  it('counts a run once when its terminal event is delivered twice, one EMF line per invocation', async () => {
    // Prepare: the handler, and a table whose active record goes with the first transaction
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    vi.stubEnv(
      'WEBHOOK_SECRET_ARN',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf',
    );
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
    vi.resetModules();
    const { handler } = await import('../../../../functions/completion/handler');
    let active: ActiveJob | undefined = running();
    ddb.on(GetItemCommand).callsFake(async () => ({
      Item: active ? await activeItem(active) : undefined,
    }));
    ddb.on(TransactWriteItemsCommand).callsFake(async () => {
      if (!active) throw transactionCancelled(['None', 'ConditionalCheckFailed']);
      active = undefined;
      return {};
    });
    const event = busEvent('eventjobs', 'Job Completed', outcomeDetail({ result: 1 }));

    // Act: the same event twice, as EventBridge may deliver it
    await handler(event);
    await handler(event);

    // Assess
    expect(output.emf()).toEqual([
      expect.objectContaining({ type: 'echo', JobsSucceeded: 1, RunDuration: 2500 }),
    ]);
    expect(output.logs().map((line) => line.message)).toEqual([
      'Run finished',
      'Duplicate or late event, ignored',
    ]);
  });
});
