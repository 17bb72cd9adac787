/**
 * The worker with steps and durable sleeps, on the local cloud's DynamoDB: a
 * continuation near the invocation's end, a replay in the next invocation, a
 * sleep handed to a timer, and a cancel that ends a sleeping run at once.
 * The bus is faked; the resumer is a fake that records what it was asked.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { WorkerPayload } from '../../../../core/events';
import { defineJobType, type JobContext, type JobType } from '../../../../core/job-type';
import type { ActiveJob } from '../../../../core/model';
import { cancelJob } from '../../../../functions/cancel-job/service';
import { getJob } from '../../../../functions/get-job/service';
import { StepStore } from '../../../../functions/shared/step-store';
import { JobStore } from '../../../../functions/shared/store';
import { type Resumer, timerName } from '../../../../functions/worker/resume';
import { runWorker, type WorkerDeps } from '../../../../functions/worker/service';
import { activeJob, USER_ARN } from '../../helpers/api-event';
import { lambdaContext } from '../../helpers/lambda-context';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

const eventBridge = mockClient(EventBridgeClient);

const START = new Date('2026-01-05T10:00:00.000Z');
/** What the first invocation has left when it starts: the continuation comes at its end. */
const SHORT_INVOCATION_MS = 800;

let table: LocalTable;
let store: JobStore;
let steps: StepStore;
/** The worker's clock; tests move it between invocations. */
let clock: Date;
let serial = 0;

beforeAll(async () => {
  table = await startLocalJobsTable();
  store = new JobStore(table.client, table.tableName);
  steps = new StepStore(table.client, table.tableName);
});
afterAll(async () => {
  await table.close();
});

beforeEach(() => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  clock = new Date(START);
});

interface ResumerCall {
  readonly method: 'continueRun' | 'wakeAt';
  readonly payload: WorkerPayload;
  readonly at?: Date;
  readonly timerName?: string;
  readonly target: string;
}

function recordingResumer(): Resumer & { readonly calls: ResumerCall[] } {
  const calls: ResumerCall[] = [];
  return {
    calls,
    continueRun: async (payload, functionName) => {
      calls.push({ method: 'continueRun', payload, target: functionName });
    },
    wakeAt: async (payload, at, name, functionArn) => {
      calls.push({ method: 'wakeAt', payload, at, timerName: name, target: functionArn });
    },
  };
}

function deps(type: JobType, resumer: Resumer, overrides: Partial<WorkerDeps> = {}): WorkerDeps {
  return {
    store,
    steps,
    resumer,
    retentionSeconds: 7 * 24 * 60 * 60,
    eventBridge: new EventBridgeClient({}),
    busName: 'eventjobs-bus',
    maxEventBytes: 256 * 1024,
    maxResultBytes: 320 * 1024,
    deadlineMarginMs: 0,
    now: () => new Date(clock),
    getJobType: (name) => (name === type.name ? type : undefined),
    ...overrides,
  };
}

function testType(run: (input: unknown, ctx: JobContext) => Promise<unknown>): JobType {
  return defineJobType({
    name: 'test',
    description: 'A job type the test defines',
    input: z.unknown(),
    run,
  });
}

/** A fresh run of `test`, written to the table as start-job would (not yet started). */
async function newRun(overrides: Partial<ActiveJob> = {}): Promise<ActiveJob> {
  serial += 1;
  const job = activeJob({
    jobName: `long-job-${serial}`,
    runId: `01JDXR3Y5Q6Z8A9B0C1D2E3F${String(serial).padStart(2, '0')}`,
    type: 'test',
    input: {},
    createdAt: '2026-01-05T09:59:59.000Z',
    updatedAt: '2026-01-05T09:59:59.000Z',
    ...overrides,
  });
  await store.createActive(job);
  return job;
}

function payloadOf(job: ActiveJob, overrides: Partial<WorkerPayload> = {}): WorkerPayload {
  return {
    owner: job.owner,
    jobName: job.jobName,
    runId: job.runId,
    type: job.type,
    submittedAt: job.createdAt,
    ...overrides,
  };
}

function entries(): PutEventsRequestEntry[] {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? []);
}

function detailTypes(): string[] {
  return entries().map((entry) => entry.DetailType ?? '');
}

function detailOf(detailType: string): Record<string, unknown> {
  const entry = entries().find((candidate) => candidate.DetailType === detailType);
  return JSON.parse(entry?.Detail ?? 'null') as Record<string, unknown>;
}

/** A context whose invocation is near its end when the run starts. */
function shortInvocation() {
  return { ...lambdaContext(), getRemainingTimeInMillis: () => SHORT_INVOCATION_MS };
}

/** Two steps: the second, in the first invocation, runs until the worker stops it. */
function twoStepType() {
  const calls = { one: 0, two: 0 };
  const type = testType(async (_input, ctx) => {
    const one = await ctx.step('one', () => {
      calls.one += 1;
      return { rows: 3 };
    });
    const two = await ctx.step('two', async ({ signal }) => {
      calls.two += 1;
      if (ctx.invocation === 1) {
        await new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      }
      return one.rows * 2;
    });
    return { one: one.rows, two, invocation: ctx.invocation, attempt: ctx.attempt };
  });
  return { type, calls };
}

describe('worker: a continuation near the end of the invocation', () => {
  it('suspends the run, frees its lease and hands it to a fresh invocation', async () => {
    // Prepare
    const job = await newRun();
    const { type, calls } = twoStepType();
    const resumer = recordingResumer();
    const context = shortInvocation();

    // Act
    const result = await runWorker(payloadOf(job), context, deps(type, resumer));

    // Assess
    expect(result).toEqual({ status: 'suspended' });
    expect(resumer.calls).toEqual([
      {
        method: 'continueRun',
        payload: {
          owner: job.owner,
          jobName: job.jobName,
          runId: job.runId,
          type: 'test',
          submittedAt: START.toISOString(),
          resume: 'continue',
        },
        target: context.functionName,
      },
    ]);
    const record = await store.getActive(job.owner, job.jobName);
    expect(record).toMatchObject({
      attempt: 1,
      invocations: 1,
      checkpointed: true,
      suspendedAt: START.toISOString(),
    });
    expect(record?.leaseId).toBeUndefined();
    expect(record?.wakeAt).toBeUndefined();
    expect(calls).toEqual({ one: 1, two: 1 });
    expect(detailTypes()).toEqual(['Job Started']);
    const saved = await steps.list(job, Math.floor(START.getTime() / 1000));
    expect(saved.map((step) => [step.name, step.status])).toEqual([
      ['one', 'SUCCEEDED'],
      ['two', 'RUNNING'],
    ]);
  });

  it('replays the finished step in the next invocation without running it, and completes', async () => {
    // Prepare: the first invocation suspended the run
    const job = await newRun();
    const { type, calls } = twoStepType();
    const resumer = recordingResumer();
    await runWorker(payloadOf(job), shortInvocation(), deps(type, resumer));
    const [handOver] = resumer.calls;
    eventBridge.resetHistory();
    clock = new Date(START.getTime() + 1000);

    // Act: the continuation (a fresh request id)
    const result = await runWorker(handOver?.payload, lambdaContext(), deps(type, resumer));

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Completed' });
    expect(calls).toEqual({ one: 1, two: 2 });
    // The same attempt goes on: no second Job Started.
    expect(detailTypes()).toEqual(['Job Completed']);
    expect(detailOf('Job Completed')).toMatchObject({
      attempt: 1,
      startedAt: START.toISOString(),
      durationMs: 1000,
      result: { one: 3, two: 6, invocation: 2, attempt: 1 },
    });
    expect(resumer.calls).toHaveLength(1);
    expect(await store.getActive(job.owner, job.jobName)).toMatchObject({
      attempt: 1,
      invocations: 2,
    });
    const saved = await steps.list(job, Math.floor(clock.getTime() / 1000));
    expect(saved.find((step) => step.name === 'two')).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
    });
  });

  it('shows the steps in GET /jobs/{name} while the run is suspended', async () => {
    // Prepare
    const job = await newRun();
    const { type } = twoStepType();
    await runWorker(payloadOf(job), shortInvocation(), deps(type, recordingResumer()));

    // Act
    const view = await getJob(USER_ARN, job.jobName, { store, steps, now: () => clock });

    // Assess
    expect(view).toMatchObject({ status: 'RUNNING', invocations: 1 });
    expect(view.steps?.map((step) => [step.name, step.status])).toEqual([
      ['one', 'SUCCEEDED'],
      ['two', 'RUNNING'],
    ]);
    expect(JSON.stringify(view.steps)).not.toContain('resultJson');
  });

  it('fails a run whose step did not finish within a whole invocation (StepTooLongError)', async () => {
    // Prepare: the only step runs until it is stopped
    const job = await newRun();
    const type = testType(async (_input, ctx) =>
      ctx.step('endless', async ({ signal }) => {
        await new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      }),
    );
    const resumer = recordingResumer();

    // Act
    const result = await runWorker(payloadOf(job), shortInvocation(), deps(type, resumer));

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Failed' });
    expect(detailOf('Job Failed')).toMatchObject({
      error: {
        name: 'StepTooLongError',
        message: expect.stringContaining('Step "endless" did not finish a step'),
      },
    });
    expect(resumer.calls).toEqual([]);
  });
});

describe('worker: a durable sleep', () => {
  function sleepyType() {
    const calls = { before: 0, after: 0 };
    const type = testType(async (_input, ctx) => {
      await ctx.step('before', () => {
        calls.before += 1;
      });
      await ctx.sleep('nap', { minutes: 10 });
      await ctx.step('after', () => {
        calls.after += 1;
      });
      return 'rested';
    });
    return { type, calls };
  }

  it('suspends the run and asks for a timer at the wake time', async () => {
    // Prepare
    const job = await newRun();
    const { type, calls } = sleepyType();
    const resumer = recordingResumer();
    const context = lambdaContext();

    // Act
    const result = await runWorker(payloadOf(job), context, deps(type, resumer));

    // Assess
    const wakeAt = '2026-01-05T10:10:00.000Z';
    expect(result).toEqual({ status: 'suspended', wakeAt });
    expect(resumer.calls).toEqual([
      {
        method: 'wakeAt',
        payload: expect.objectContaining({ runId: job.runId, resume: 'wake' }),
        at: new Date(wakeAt),
        timerName: timerName(job.runId, 'nap'),
        target: context.invokedFunctionArn,
      },
    ]);
    const record = await store.getActive(job.owner, job.jobName);
    expect(record).toMatchObject({ wakeAt, sleepName: 'nap', heartbeatAt: wakeAt, invocations: 1 });
    expect(record?.leaseId).toBeUndefined();
    expect(calls).toEqual({ before: 1, after: 0 });
    expect(detailTypes()).toEqual(['Job Started']);
  });

  it('asks for the timer at the deadline when the deadline comes first', async () => {
    // Prepare: a run that may last 5 minutes
    const job = await newRun({ timeoutSeconds: 300 });
    const { type } = sleepyType();
    const resumer = recordingResumer();

    // Act
    const result = await runWorker(payloadOf(job), lambdaContext(), deps(type, resumer));

    // Assess
    expect(result).toEqual({ status: 'suspended', wakeAt: '2026-01-05T10:10:00.000Z' });
    expect(resumer.calls[0]?.at).toEqual(new Date('2026-01-05T10:05:00.000Z'));
    expect(resumer.calls[0]?.timerName).toBe(timerName(job.runId, 'nap'));
  });

  it('times out, naming the sleep, when the timer fires at the deadline', async () => {
    // Prepare
    const job = await newRun({ timeoutSeconds: 300 });
    const { type, calls } = sleepyType();
    const resumer = recordingResumer();
    await runWorker(payloadOf(job), lambdaContext(), deps(type, resumer));
    clock = new Date('2026-01-05T10:05:00.000Z');

    // Act
    const result = await runWorker(resumer.calls[0]?.payload, lambdaContext(), deps(type, resumer));

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Timed Out' });
    expect(detailOf('Job Timed Out').reason).toContain(
      'came while it slept in "nap", which was to end at 2026-01-05T10:10:00.000Z',
    );
    expect(calls).toEqual({ before: 1, after: 0 });
  });

  it('goes on after the wake, replaying the step before the sleep, and completes', async () => {
    // Prepare
    const job = await newRun();
    const { type, calls } = sleepyType();
    const resumer = recordingResumer();
    await runWorker(payloadOf(job), lambdaContext(), deps(type, resumer));
    eventBridge.resetHistory();
    clock = new Date('2026-01-05T10:10:00.000Z');

    // Act
    const result = await runWorker(resumer.calls[0]?.payload, lambdaContext(), deps(type, resumer));

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Completed' });
    expect(calls).toEqual({ before: 1, after: 1 });
    expect(detailTypes()).toEqual(['Job Completed']);
    expect(detailOf('Job Completed')).toMatchObject({ result: 'rested', attempt: 1 });
    const record = await store.getActive(job.owner, job.jobName);
    expect(record).toMatchObject({ invocations: 2 });
    expect(record?.wakeAt).toBeUndefined();
    expect(record?.sleepName).toBeUndefined();
  });

  it('is ended at once by a cancel, with Job Cancelled reported by the API', async () => {
    // Prepare
    const job = await newRun();
    const { type } = sleepyType();
    await runWorker(payloadOf(job), lambdaContext(), deps(type, recordingResumer()));
    const putEvent = vi.fn(async () => undefined);
    const cancelAt = new Date('2026-01-05T10:03:00.000Z');

    // Act
    const answer = await cancelJob(USER_ARN, job.jobName, {
      store,
      steps,
      now: () => cancelAt,
      putEvent,
    });

    // Assess
    expect(answer).toMatchObject({
      runId: job.runId,
      status: 'RUNNING',
      cancelRequestedAt: cancelAt.toISOString(),
    });
    expect(putEvent).toHaveBeenCalledTimes(1);
    expect(putEvent).toHaveBeenCalledWith(
      'Job Cancelled',
      expect.objectContaining({
        runId: job.runId,
        reportedBy: 'api',
        attempt: 1,
        startedAt: START.toISOString(),
        finishedAt: cancelAt.toISOString(),
        durationMs: 180_000,
        reason: `Cancel requested at ${cancelAt.toISOString()}, while the run slept in "nap"`,
      }),
    );
  });

  it('leaves a cancel of a run between invocations of a continuation to its worker', async () => {
    // Prepare: suspended for a continuation, not asleep
    const job = await newRun();
    const { type } = twoStepType();
    await runWorker(payloadOf(job), shortInvocation(), deps(type, recordingResumer()));
    const putEvent = vi.fn(async () => undefined);

    // Act
    await cancelJob(USER_ARN, job.jobName, { store, steps, now: () => clock, putEvent });

    // Assess
    expect(putEvent).not.toHaveBeenCalled();
  });
});
