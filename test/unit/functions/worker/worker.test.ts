import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MalformedEventError } from '../../../../core/errors';
import {
  jobCancelledDetailSchema,
  jobCompletedDetailSchema,
  jobFailedDetailSchema,
  jobProgressDetailSchema,
  jobStartedDetailSchema,
  jobTimedOutDetailSchema,
} from '../../../../core/event-schemas';
import type { WorkerPayload } from '../../../../core/events';
import { defineJobType, type JobContext, type JobType } from '../../../../core/job-type';
import type { ActiveJob } from '../../../../core/model';
import { getJobType } from '../../../../functions/shared/job-registry';
import { createJobMetrics } from '../../../../functions/shared/metrics';
import { StepStore } from '../../../../functions/shared/step-store';
import { JobStore } from '../../../../functions/shared/store';
import { EventDeliveryError } from '../../../../functions/worker/errors';
import type { Resumer } from '../../../../functions/worker/resume';
import { backoffMs, runWorker, type WorkerDeps } from '../../../../functions/worker/service';
import { activeItem, activeJob, USER_ARN } from '../../helpers/api-event';
import { lambdaContext } from '../../helpers/lambda-context';
import { capturePowertoolsOutput, type PowertoolsOutput } from '../../helpers/powertools-output';

const ddb = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);

const RUN_ID = '01JDXR3Y5Q6Z8A9B0C1D2E3F4G';
const START = new Date('2026-01-05T10:00:00.000Z');

/** The active record as the (faked) table holds it; undefined once it is gone. */
let stored: ActiveJob | undefined;
/** The worker's clock; tests move it to give runs a duration. */
let clock: Date;

function payload(overrides: Partial<WorkerPayload> = {}): WorkerPayload {
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

function deps(overrides: Partial<WorkerDeps> = {}): WorkerDeps {
  return {
    store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
    eventBridge: new EventBridgeClient({}),
    busName: 'eventjobs-bus',
    maxEventBytes: 256 * 1024,
    maxResultBytes: 320 * 1024,
    deadlineMarginMs: 2000,
    now: () => new Date(clock),
    getJobType,
    // The runs here use no steps: neither the step store nor the resumer is reached.
    steps: new StepStore(new DynamoDBClient({}), 'jobs-table'),
    resumer: recordingResumer(),
    retentionSeconds: 7 * 24 * 60 * 60,
    ...overrides,
  };
}

/** A Resumer that records what it was asked and resumes nothing. */
function recordingResumer(): Resumer & { readonly calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    continueRun: async (...args) => void calls.push(['continueRun', ...args]),
    wakeAt: async (...args) => void calls.push(['wakeAt', ...args]),
  };
}

/** A registry holding only `type`. */
function only(type: JobType): (name: string) => JobType | undefined {
  return (name) => (name === type.name ? type : undefined);
}

function testType(run: (input: unknown, ctx: JobContext) => Promise<unknown>): JobType {
  return defineJobType({
    name: 'test',
    description: 'A job type the test defines',
    input: z.unknown(),
    run,
  });
}

function conditionFailed() {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
  });
}

/**
 * A one-record jobs table: GetItem reads `stored`, UpdateItem applies the
 * worker's two updates (start, progress) when the run id matches, like the
 * conditional writes the store sends.
 */
function fakeTable(): void {
  ddb.on(GetItemCommand).callsFake(async () => ({
    Item: stored ? await activeItem(stored) : undefined,
  }));
  ddb.on(UpdateItemCommand).callsFake(async (input: UpdateItemCommandInput) => {
    const values = input.ExpressionAttributeValues ?? {};
    if (!stored || stored.runId !== values[':runId']?.S) throw conditionFailed();
    const at = values[':at']?.S ?? '';
    const lease = values[':lease']?.S;
    if (lease !== undefined) {
      const held = stored.leaseId !== undefined && stored.leaseId !== lease;
      const fresh =
        stored.heartbeatAt !== undefined && stored.heartbeatAt >= (values[':stale']?.S ?? '');
      if (held && fresh) throw conditionFailed();
      const deadline = values[':deadline']?.S;
      stored = {
        ...stored,
        startedAt: stored.startedAt ?? at,
        attemptStartedAt: at,
        leaseId: lease,
        deadlineAt: stored.deadlineAt ?? deadline,
      };
      // A claim counts the invocation and ends a sleep.
      if (input.UpdateExpression?.includes('invocations')) {
        stored = {
          ...stored,
          invocations: (stored.invocations ?? 0) + 1,
          wakeAt: undefined,
          sleepName: undefined,
        };
      }
    }
    const attempt = values[':attempt']?.N;
    if (attempt !== undefined) {
      stored = { ...stored, startedAt: stored.startedAt ?? at, attempt: Number(attempt) };
    }
    if (input.UpdateExpression?.includes('heartbeatAt = :at')) {
      stored = { ...stored, heartbeatAt: at };
    }
    const progress = values[':progress']?.M;
    if (progress) {
      stored = {
        ...stored,
        progress: {
          percent: Number(progress.percent?.N),
          message: progress.message?.S,
          at: progress.at?.S ?? '',
        },
      };
    }
    stored = { ...stored, updatedAt: at };
    return { Attributes: await activeItem(stored) };
  });
}

const TERMINAL = ['Job Completed', 'Job Failed', 'Job Cancelled', 'Job Timed Out'];

/** The terminal events the worker sent (Started and Progress are informational). */
function sentEntries(): PutEventsRequestEntry[] {
  return allEntries().filter((entry) => TERMINAL.includes(entry.DetailType ?? ''));
}

function allEntries(): PutEventsRequestEntry[] {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? []);
}

/** The one terminal event the worker sent, with its detail parsed. */
function sentEvent() {
  const entries = sentEntries();
  expect(entries).toHaveLength(1);
  const [entry] = entries;
  return { entry, detail: JSON.parse(entry?.Detail ?? 'null') as Record<string, unknown> };
}

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  stored = activeJob({ runId: RUN_ID, createdAt: '2026-01-05T09:59:59.000Z' });
  clock = new Date(START);
  fakeTable();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('worker: a run that completes', () => {
  it('puts one Job Completed event on the bus with the run and its result', async () => {
    // Prepare
    const slow = testType(async () => {
      clock = new Date(START.getTime() + 1500);
      return { rows: 42 };
    });

    // Act
    const result = await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(slow) }),
    );

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Completed' });
    const { entry, detail } = sentEvent();
    expect(entry).toMatchObject({
      EventBusName: 'eventjobs-bus',
      Source: 'eventjobs',
      DetailType: 'Job Completed',
    });
    expect(detail).toEqual({
      owner: USER_ARN,
      jobName: 'nightly-report',
      runId: RUN_ID,
      type: 'test',
      attempt: 1,
      startedAt: '2026-01-05T10:00:00.000Z',
      finishedAt: '2026-01-05T10:00:01.500Z',
      durationMs: 1500,
      result: { rows: 42 },
    });
    expect(jobCompletedDetailSchema.safeParse(detail).success).toBe(true);
  });

  it('runs a built-in type with its parsed input', async () => {
    // Act
    await runWorker(
      payload({ type: 'echo', input: { value: [1, 'two'] } }),
      lambdaContext(),
      deps(),
    );

    // Assess
    expect(sentEvent().detail.result).toEqual({ value: [1, 'two'] });
  });

  it('records the start on the job record as attempt 1', async () => {
    // Act
    await runWorker(payload(), lambdaContext(), deps());

    // Assess
    expect(stored).toMatchObject({ startedAt: '2026-01-05T10:00:00.000Z', attempt: 1 });
  });

  it('counts a retried invocation as the next attempt and keeps the first start time', async () => {
    // Prepare: attempt 1 holds a lease whose holder died (no heartbeat for two minutes)
    stored = activeJob({
      runId: RUN_ID,
      startedAt: '2026-01-05T09:58:00.000Z',
      attempt: 1,
      leaseId: 'dead-invocation',
      heartbeatAt: '2026-01-05T09:58:00.000Z',
      invocations: 1,
    });

    // Act
    await runWorker(payload(), lambdaContext(), deps());

    // Assess
    const { detail } = sentEvent();
    expect(detail).toMatchObject({
      attempt: 2,
      startedAt: '2026-01-05T09:58:00.000Z',
      durationMs: 120_000,
    });
    expect(stored?.attempt).toBe(2);
  });

  it('announces Job Started for a new attempt that takes over a lease', async () => {
    // Prepare
    stored = activeJob({
      runId: RUN_ID,
      startedAt: '2026-01-05T09:58:00.000Z',
      attempt: 1,
      leaseId: 'dead-invocation',
      heartbeatAt: '2026-01-05T09:58:00.000Z',
      invocations: 1,
    });

    // Act
    await runWorker(payload(), lambdaContext(), deps());

    // Assess
    const started = allEntries().filter((entry) => entry.DetailType === 'Job Started');
    expect(started).toHaveLength(1);
    expect(JSON.parse(started[0]?.Detail ?? '{}')).toMatchObject({ attempt: 2 });
  });

  it('goes on in the same attempt after a suspension (no lease), with no second Job Started', async () => {
    // Prepare: attempt 2 gave its invocation up (a continuation or a sleep)
    stored = activeJob({
      runId: RUN_ID,
      startedAt: '2026-01-05T09:58:00.000Z',
      attempt: 2,
      invocations: 1,
      heartbeatAt: '2026-01-05T09:59:59.000Z',
      suspendedAt: '2026-01-05T09:59:59.000Z',
    });

    // Act
    const result = await runWorker(payload({ resume: 'continue' }), lambdaContext(), deps());

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Completed' });
    expect(sentEvent().detail).toMatchObject({ attempt: 2, startedAt: '2026-01-05T09:58:00.000Z' });
    expect(allEntries().map((entry) => entry.DetailType)).toEqual(['Job Completed']);
    expect(stored).toMatchObject({ attempt: 2, invocations: 2 });
  });

  it('announces Job Started again for a re-driven run, though its attempt is the same', async () => {
    // Prepare: the sweeper re-drove the run (lease freed, attempt already counted)
    stored = activeJob({
      runId: RUN_ID,
      startedAt: '2026-01-05T09:58:00.000Z',
      attempt: 2,
      invocations: 1,
      heartbeatAt: '2026-01-05T09:59:59.000Z',
      redrivenAt: '2026-01-05T09:59:59.000Z',
    });

    // Act
    await runWorker(payload({ resume: 'redrive' }), lambdaContext(), deps());

    // Assess
    const types = allEntries().map((entry) => entry.DetailType);
    expect(types).toEqual(['Job Started', 'Job Completed']);
    expect(sentEvent().detail).toMatchObject({ attempt: 2 });
  });

  it('gives the job its identity, attempt and the time left in the invocation', async () => {
    // Prepare
    let seen: Record<string, unknown> = {};
    const probe = testType(async (_input, ctx) => {
      seen = {
        jobName: ctx.jobName,
        runId: ctx.runId,
        type: ctx.type,
        attempt: ctx.attempt,
        aborted: ctx.signal.aborted,
        remainingTimeMs: ctx.remainingTimeMs(),
      };
      return null;
    });

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext({ timeoutMs: 60_000 }),
      deps({ getJobType: only(probe) }),
    );

    // Assess
    expect(seen).toMatchObject({
      jobName: 'nightly-report',
      runId: RUN_ID,
      type: 'test',
      attempt: 1,
      aborted: false,
    });
    expect(seen.remainingTimeMs).toBeGreaterThan(50_000);
    expect(seen.remainingTimeMs).toBeLessThanOrEqual(60_000);
  });
});

describe('worker: a run that fails', () => {
  it('reports a failing job as Job Failed with name and message only, and does not throw', async () => {
    // Act
    const result = await runWorker(
      payload({ type: 'fail', input: { message: 'disk full' } }),
      lambdaContext(),
      deps(),
    );

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Failed' });
    const { entry, detail } = sentEvent();
    expect(entry?.DetailType).toBe('Job Failed');
    expect(detail.error).toEqual({ name: 'Error', message: 'disk full' });
    expect(entry?.Detail).not.toContain('stack');
    expect(jobFailedDetailSchema.safeParse(detail).success).toBe(true);
  });

  it('keeps the name of a custom error class', async () => {
    // Prepare
    class QuotaExceededError extends Error {
      override name = 'QuotaExceededError';
    }
    const quota = testType(async () => {
      throw new QuotaExceededError('Over quota');
    });

    // Act
    await runWorker(payload({ type: 'test' }), lambdaContext(), deps({ getJobType: only(quota) }));

    // Assess
    expect(sentEvent().detail.error).toEqual({ name: 'QuotaExceededError', message: 'Over quota' });
  });

  it('reports a thrown non-Error value as an Error', async () => {
    // Prepare
    const odd = testType(async () => {
      throw 'plain string';
    });

    // Act
    await runWorker(payload({ type: 'test' }), lambdaContext(), deps({ getJobType: only(odd) }));

    // Assess
    expect(sentEvent().detail.error).toEqual({ name: 'Error', message: 'plain string' });
  });

  it('cuts a huge error message so the event still fits', async () => {
    // Prepare
    const verbose = testType(async () => {
      throw new Error('x'.repeat(500_000));
    });

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(verbose) }),
    );

    // Assess
    const { detail } = sentEvent();
    const error = jobFailedDetailSchema.parse(detail).error;
    expect(error.message.length).toBeLessThanOrEqual(4000);
  });

  it('reports an unknown job type as Job Failed UnknownJobType', async () => {
    // Act
    await runWorker(payload({ type: 'teleport' }), lambdaContext(), deps());

    // Assess
    const { entry, detail } = sentEvent();
    expect(entry?.DetailType).toBe('Job Failed');
    expect(detail.error).toEqual({
      name: 'UnknownJobType',
      message: 'There is no job type named "teleport"',
    });
  });

  it('reports input the type rejects as Job Failed InvalidInput, without running it', async () => {
    // Prepare
    const run = vi.fn(async () => 'ran');
    const strict = defineJobType({
      name: 'test',
      description: 'Needs a count',
      input: z.strictObject({ count: z.number().int() }),
      run,
    });

    // Act
    await runWorker(
      payload({ type: 'test', input: { count: 'many' } }),
      lambdaContext(),
      deps({ getJobType: only(strict) }),
    );

    // Assess
    expect(run).not.toHaveBeenCalled();
    const error = jobFailedDetailSchema.parse(sentEvent().detail).error;
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('job type "test"');
    expect(error.message).toContain('count');
  });
});

describe('worker: runs that must not run', () => {
  it('does nothing when the run is no longer active', async () => {
    // Prepare
    stored = undefined;

    // Act
    const result = await runWorker(payload(), lambdaContext(), deps());

    // Assess
    expect(result.status).toBe('skipped');
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    expect(sentEntries()).toHaveLength(0);
  });

  it('does nothing when the name now belongs to another run', async () => {
    // Prepare
    stored = activeJob({ runId: '01JDXZZZZZZZZZZZZZZZZZZZZZ' });

    // Act
    const result = await runWorker(payload(), lambdaContext(), deps());

    // Assess
    expect(result.status).toBe('skipped');
    expect(stored?.attempt).toBeUndefined();
    expect(sentEntries()).toHaveLength(0);
  });

  it('does nothing when the run ends between reading and starting it', async () => {
    // Prepare
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    const run = vi.fn(async () => 'ran');

    // Act
    const result = await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(testType(run)) }),
    );

    // Assess
    expect(result.status).toBe('skipped');
    expect(run).not.toHaveBeenCalled();
    expect(sentEntries()).toHaveLength(0);
  });

  it('reports Job Cancelled without running the job when a cancel was requested before it started', async () => {
    // Prepare
    stored = activeJob({ runId: RUN_ID, cancelRequestedAt: '2026-01-05T09:59:59.500Z' });
    const run = vi.fn(async () => 'ran');

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(testType(run)) }),
    );

    // Assess
    expect(run).not.toHaveBeenCalled();
    const { entry, detail } = sentEvent();
    expect(entry?.DetailType).toBe('Job Cancelled');
    expect(jobCancelledDetailSchema.parse(detail).reason).toContain('2026-01-05T09:59:59.500Z');
  });
});

describe('worker: progress and cancellation', () => {
  it('writes progress to the job record, rounded and clamped to 0..100', async () => {
    // Prepare
    const seen: unknown[] = [];
    const reporter = testType(async (_input, ctx) => {
      await ctx.progress(41.6, 'reading');
      seen.push(stored?.progress);
      await ctx.progress(150);
      seen.push(stored?.progress);
      await ctx.progress(-3, 'rewinding');
      seen.push(stored?.progress);
      return 'done';
    });

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(reporter) }),
    );

    // Assess
    const at = '2026-01-05T10:00:00.000Z';
    expect(seen).toEqual([
      { percent: 42, message: 'reading', at },
      { percent: 100, message: undefined, at },
      { percent: 0, message: 'rewinding', at },
    ]);
    expect(sentEvent().entry?.DetailType).toBe('Job Completed');
  });

  it('rejects a progress value that is not a finite number with a TypeError', async () => {
    // Prepare
    const broken = testType(async (_input, ctx) => {
      await ctx.progress(Number.NaN);
      return 'unreachable';
    });

    // Act
    await runWorker(payload({ type: 'test' }), lambdaContext(), deps({ getJobType: only(broken) }));

    // Assess
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
    expect(jobFailedDetailSchema.parse(sentEvent().detail).error.name).toBe('TypeError');
  });

  it('stops the job and reports Job Cancelled when progress finds a cancel request', async () => {
    // Prepare
    let signalAborted = false;
    const cancellable = testType(async (_input, ctx) => {
      await ctx.progress(10);
      stored = stored && { ...stored, cancelRequestedAt: '2026-01-05T10:00:05.000Z' };
      try {
        await ctx.progress(20);
      } finally {
        signalAborted = ctx.signal.aborted;
      }
      return 'not cancelled';
    });

    // Act
    const result = await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(cancellable) }),
    );

    // Assess
    expect(signalAborted).toBe(true);
    expect(result).toEqual({ status: 'reported', detailType: 'Job Cancelled' });
    const detail = jobCancelledDetailSchema.parse(sentEvent().detail);
    expect(detail.reason).toBe('Cancel requested at 2026-01-05T10:00:05.000Z');
  });

  it('reports Job Cancelled even when the job ignores the cancellation', async () => {
    // Prepare
    const stubborn = testType(async (_input, ctx) => {
      stored = stored && { ...stored, cancelRequestedAt: '2026-01-05T10:00:05.000Z' };
      await ctx.progress(50).catch(() => undefined);
      return new Promise(() => undefined);
    });

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(stubborn) }),
    );

    // Assess
    expect(sentEvent().entry?.DetailType).toBe('Job Cancelled');
  }, 5000);

  it('stops without an event when progress finds the run gone', async () => {
    // Prepare
    const orphan = testType(async (_input, ctx) => {
      stored = undefined;
      await ctx.progress(50);
      return 'unreachable';
    });

    // Act
    const result = await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(orphan) }),
    );

    // Assess
    expect(result.status).toBe('skipped');
    expect(sentEntries()).toHaveLength(0);
  });

  it('goes on when a progress write fails for another reason', async () => {
    // Prepare
    const resilient = testType(async (_input, ctx) => {
      ddb
        .on(UpdateItemCommand)
        .rejects(
          new ProvisionedThroughputExceededException({ message: 'Slow down', $metadata: {} }),
        );
      await ctx.progress(50);
      return 'finished anyway';
    });

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(resilient) }),
    );

    // Assess
    expect(sentEvent().detail.result).toBe('finished anyway');
  });

  it('runs the sleep type with progress about once a second', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const running = runWorker(
      payload({ type: 'sleep', input: { seconds: 3 } }),
      lambdaContext(),
      deps({ now: () => new Date() }),
    );

    // Act
    await vi.advanceTimersByTimeAsync(3000);
    const result = await running;

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Completed' });
    const progressWrites = ddb
      .commandCalls(UpdateItemCommand)
      .filter((call) => call.args[0].input.ExpressionAttributeValues?.[':progress']);
    expect(progressWrites).toHaveLength(2);
    expect(sentEvent().detail).toMatchObject({ result: { sleptSeconds: 3 }, durationMs: 3000 });
  });

  it('stops a job shortly before the Lambda timeout and reports Job Timed Out', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const running = runWorker(
      payload({ type: 'sleep', input: { seconds: 900 } }),
      lambdaContext({ timeoutMs: 30_000 }),
      deps({ now: () => new Date(), deadlineMarginMs: 2000 }),
    );

    // Act
    await vi.advanceTimersByTimeAsync(28_000);
    const result = await running;

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Timed Out' });
    const detail = jobTimedOutDetailSchema.parse(sentEvent().detail);
    expect(detail.reason).toMatch(/worker's time limit/);
    expect(detail.reportedBy).toBe('worker');
    expect(detail.durationMs).toBe(28_000);
  });
  it('sets no deadline when the runner cannot say how much time is left', async () => {
    // Prepare
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => 0 };

    // Act
    await runWorker(payload({ type: 'sleep', input: { seconds: 0.05 } }), context, deps());

    // Assess
    expect(sentEvent().entry?.DetailType).toBe('Job Completed');
  });
});

describe('worker: results that cannot be sent', () => {
  it('reports a result larger than the event limit as Job Failed ResultTooLargeError', async () => {
    // Prepare
    const value = 'x'.repeat(5000);

    // Act
    const result = await runWorker(
      payload({ input: { value } }),
      lambdaContext(),
      deps({ maxEventBytes: 4096 }),
    );

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Failed' });
    const { error } = jobFailedDetailSchema.parse(sentEvent().detail);
    expect(error.name).toBe('ResultTooLargeError');
    expect(error.message).toMatch(/^The result is 5012 bytes; the limit is \d+$/);
  });

  it('sends a result that fits the event limit exactly', async () => {
    // Prepare: measure the event for a 1-character value, then allow exactly 999 more bytes.
    await runWorker(payload({ input: { value: 'x' } }), lambdaContext(), deps());
    const { entry } = sentEvent();
    const smallSize =
      14 + Buffer.byteLength(`${entry?.Source}${entry?.DetailType}${entry?.Detail}`, 'utf8');
    eventBridge.resetHistory();
    stored = activeJob({ runId: RUN_ID });

    // Act
    await runWorker(
      payload({ input: { value: 'x'.repeat(1000) } }),
      lambdaContext(),
      deps({ maxEventBytes: smallSize + 999 }),
    );

    // Assess
    expect(sentEvent().entry?.DetailType).toBe('Job Completed');
  });

  it('refuses a result too large for the outcome item even when the event could carry it', async () => {
    // Act
    await runWorker(
      payload({ input: { value: 'x'.repeat(3000) } }),
      lambdaContext(),
      deps({ maxEventBytes: 1024 * 1024, maxResultBytes: 2048 }),
    );

    // Assess
    const { error } = jobFailedDetailSchema.parse(sentEvent().detail);
    expect(error).toEqual({
      name: 'ResultTooLargeError',
      message: 'The result is 3012 bytes; the limit is 2048',
    });
  });

  it('sends null as the result of a job that returns nothing', async () => {
    // Prepare
    const quiet = testType(async () => undefined);

    // Act
    await runWorker(payload({ type: 'test' }), lambdaContext(), deps({ getJobType: only(quiet) }));

    // Assess
    const { entry, detail } = sentEvent();
    expect(entry?.DetailType).toBe('Job Completed');
    expect(detail).toHaveProperty('result', null);
    expect(jobCompletedDetailSchema.safeParse(detail).success).toBe(true);
  });

  it.each([
    ['a function', () => () => 'code'],
    ['a BigInt', () => ({ count: 10n })],
    [
      'a circular structure',
      () => {
        const node: Record<string, unknown> = { name: 'loop' };
        node.self = node;
        return node;
      },
    ],
  ])('reports a result with %s as Job Failed ResultNotSerializableError', async (_label, make) => {
    // Prepare
    const odd = testType(async () => make());

    // Act
    await runWorker(payload({ type: 'test' }), lambdaContext(), deps({ getJobType: only(odd) }));

    // Assess
    const { error } = jobFailedDetailSchema.parse(sentEvent().detail);
    expect(error.name).toBe('ResultNotSerializableError');
    expect(error.message).toMatch(/^The result cannot be converted to JSON: /);
  });

  it('throws when EventBridge refuses the event, so Lambda retries', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'Try again later' }],
    });

    // Act
    const running = runWorker(payload(), lambdaContext(), deps());

    // Assess
    await expect(running).rejects.toThrow(EventDeliveryError);
    await expect(running).rejects.toThrow(/InternalFailure: Try again later/);
  });
});

describe('worker: malformed payloads', () => {
  it.each([
    ['nothing', undefined],
    ['a string', 'run it'],
    ['a payload without a run id', { ...payload(), runId: undefined }],
    ['a payload with a bad job name', payload({ jobName: '../etc' })],
  ])('throws MalformedEventError for %s, touching nothing', async (_label, event) => {
    // Act
    const running = runWorker(event, lambdaContext(), deps());

    // Assess
    await expect(running).rejects.toThrow(MalformedEventError);
    expect(ddb.calls()).toHaveLength(0);
    expect(sentEntries()).toHaveLength(0);
  });
});

/** What the handler needs besides the table and the bus: the sleep timers' role and group. */
function stubTimerEnv(): void {
  vi.stubEnv('TIMER_ROLE_ARN', 'arn:aws:iam::123456789012:role/eventjobs-timers');
  vi.stubEnv('TIMER_GROUP_NAME', 'eventjobs-timers');
}

describe('worker handler', () => {
  async function loadHandler() {
    vi.resetModules();
    return (await import('../../../../functions/worker/handler')).handler;
  }

  beforeEach(() => {
    stubTimerEnv();
  });

  it('runs the payload and puts the outcome on the bus named in its environment', async () => {
    // Prepare
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    const handler = await loadHandler();

    // Act
    await handler(payload(), lambdaContext());

    // Assess
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input.TableName).toBe('jobs-from-env');
    const { entry, detail } = sentEvent();
    expect(entry).toMatchObject({ EventBusName: 'bus-from-env', DetailType: 'Job Completed' });
    expect(detail.result).toEqual({ value: 'hello' });
  });

  it('takes the run deadline from WORKER_TIMEOUT_SECONDS when neither the request nor the type sets one', async () => {
    // Prepare
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    vi.stubEnv('WORKER_TIMEOUT_SECONDS', '42');
    const handler = await loadHandler();
    const before = Date.now();

    // Act
    await handler(payload(), lambdaContext());

    // Assess
    const deadline = Date.parse(stored?.deadlineAt ?? '');
    expect(deadline - before).toBeGreaterThanOrEqual(41_000);
    expect(deadline - before).toBeLessThanOrEqual(43_000);
  });

  it('takes the event size limit from MAX_EVENT_BYTES', async () => {
    // Prepare
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    vi.stubEnv('MAX_EVENT_BYTES', '1024');
    const handler = await loadHandler();

    // Act
    await handler(payload({ input: { value: 'x'.repeat(2000) } }), lambdaContext());

    // Assess
    expect(sentEvent().entry?.DetailType).toBe('Job Failed');
  });

  it('throws for a malformed payload', async () => {
    // Prepare
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    const handler = await loadHandler();

    // Act
    const running = handler({ hello: 'world' }, lambdaContext());

    // Assess
    // (A fresh module graph has its own error classes, so the name is compared.)
    await expect(running).rejects.toMatchObject({ name: 'MalformedEventError' });
  });

  it('fails loudly at load when the bus name is not configured', async () => {
    // Prepare
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', '');

    // Act
    const loading = loadHandler();

    // Assess
    await expect(loading).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('EVENT_BUS_NAME'),
    });
  });

  it.each(['TIMER_ROLE_ARN', 'TIMER_GROUP_NAME'])(
    'fails loudly at load when %s (the sleep timers) is not configured',
    async (name) => {
      // Prepare
      vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
      vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
      vi.stubEnv(name, '');

      // Act
      const loading = loadHandler();

      // Assess
      await expect(loading).rejects.toMatchObject({
        name: 'ConfigError',
        message: expect.stringContaining(name),
      });
    },
  );
});

describe('worker: heartbeat and cancellation while the job runs', () => {
  it('learns of a cancel from its heartbeat and ends a job that never calls progress CANCELLED', async () => {
    // Prepare: a job that ignores its signal and never reports progress
    vi.useFakeTimers({ now: START });
    const silent = testType(async () => new Promise(() => undefined));
    const running = runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(silent), now: () => new Date(), heartbeatIntervalMs: 1000 }),
    );

    // Act: the cancel arrives after two heartbeats
    await vi.advanceTimersByTimeAsync(2500);
    stored = stored && { ...stored, cancelRequestedAt: '2026-01-05T10:00:02.500Z' };
    await vi.advanceTimersByTimeAsync(1000);
    const result = await running;

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Cancelled' });
    const heartbeats = ddb
      .commandCalls(UpdateItemCommand)
      .filter((call) => call.args[0].input.UpdateExpression === 'SET heartbeatAt = :at');
    expect(heartbeats).toHaveLength(3);
    expect(heartbeats[0]?.args[0].input.ConditionExpression).toBe('runId = :runId');
    expect(jobCancelledDetailSchema.parse(sentEvent().detail).reason).toMatch(/Cancel requested/);
  });

  it('aborts the signal of the built-in sleep type within about a second of the cancel', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const running = runWorker(
      payload({ type: 'sleep', input: { seconds: 600 } }),
      lambdaContext(),
      deps({ now: () => new Date() }),
    );
    await vi.advanceTimersByTimeAsync(3000);

    // Act
    stored = stored && { ...stored, cancelRequestedAt: '2026-01-05T10:00:03.000Z' };
    await vi.advanceTimersByTimeAsync(1600);
    const result = await running;

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Cancelled' });
  });

  it('counts a progress call as a heartbeat', async () => {
    // Prepare: progress every 500 ms, heartbeat interval 1000 ms
    vi.useFakeTimers({ now: START });
    const chatty = testType(async (_input, ctx) => {
      for (let i = 1; i <= 6; i++) {
        await new Promise((r) => setTimeout(r, 500));
        await ctx.progress(i * 10);
      }
      return 'done';
    });
    const running = runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(chatty), now: () => new Date(), heartbeatIntervalMs: 1000 }),
    );

    // Act
    await vi.advanceTimersByTimeAsync(3500);
    await running;

    // Assess: no separate heartbeat was needed
    const heartbeats = ddb
      .commandCalls(UpdateItemCommand)
      .filter((call) => call.args[0].input.UpdateExpression === 'SET heartbeatAt = :at');
    expect(heartbeats).toHaveLength(0);
    expect(stored?.heartbeatAt).toBe('2026-01-05T10:00:03.000Z');
  });
});

describe('worker: deadlines', () => {
  it("sets the run's deadline from the type's default timeout at its first start", async () => {
    // Prepare
    const typed = { ...testType(async () => 'ok'), defaultTimeoutSeconds: 30 };

    // Act
    await runWorker(payload({ type: 'test' }), lambdaContext(), deps({ getJobType: only(typed) }));

    // Assess
    expect(stored?.deadlineAt).toBe('2026-01-05T10:00:30.000Z');
  });

  it("honours a timeout on the record, even one longer than the worker's timeout", async () => {
    // Prepare
    stored = stored && { ...stored, timeoutSeconds: 5000 };

    // Act
    await runWorker(payload(), lambdaContext(), deps({ maxTimeoutSeconds: 120 }));

    // Assess: a run with steps may continue past one invocation
    expect(stored?.deadlineAt).toBe('2026-01-05T11:23:20.000Z');
  });

  it("prefers the request's timeout to the type's default", async () => {
    // Prepare
    stored = stored && { ...stored, timeoutSeconds: 90 };
    const typed = { ...testType(async () => 'ok'), defaultTimeoutSeconds: 30 };

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(typed), maxTimeoutSeconds: 60 }),
    );

    // Assess
    expect(stored?.deadlineAt).toBe('2026-01-05T10:01:30.000Z');
  });

  it("prefers the type's default to the worker's timeout, even a longer one", async () => {
    // Prepare
    const typed = { ...testType(async () => 'ok'), defaultTimeoutSeconds: 3600 };

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(typed), maxTimeoutSeconds: 60 }),
    );

    // Assess
    expect(stored?.deadlineAt).toBe('2026-01-05T11:00:00.000Z');
  });

  it('caps any timeout at 30 days', async () => {
    // Prepare
    stored = stored && { ...stored, timeoutSeconds: 40 * 24 * 60 * 60 };

    // Act
    await runWorker(payload(), lambdaContext(), deps({ maxTimeoutSeconds: 120 }));

    // Assess
    expect(stored?.deadlineAt).toBe('2026-02-04T10:00:00.000Z');
  });

  it('stops a job at its deadline, before the Lambda limit, and reports Job Timed Out', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const stubborn = {
      ...testType(async () => new Promise(() => undefined)),
      defaultTimeoutSeconds: 3,
    };
    const running = runWorker(
      payload({ type: 'test' }),
      lambdaContext({ timeoutMs: 60_000 }),
      deps({ getJobType: only(stubborn), now: () => new Date() }),
    );

    // Act
    await vi.advanceTimersByTimeAsync(3000);
    const result = await running;

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Timed Out' });
    const detail = jobTimedOutDetailSchema.parse(sentEvent().detail);
    expect(detail).toMatchObject({
      deadlineAt: '2026-01-05T10:00:03.000Z',
      durationMs: 3000,
      reportedBy: 'worker',
    });
    expect(detail.reason).toMatch(/deadline/);
  });

  it('reports Job Timed Out without running when a retried invocation starts past the deadline', async () => {
    // Prepare
    stored = stored && {
      ...stored,
      startedAt: '2026-01-05T09:00:00.000Z',
      attempt: 1,
      deadlineAt: '2026-01-05T09:01:00.000Z',
    };
    const run = vi.fn(async () => 'never');

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(testType(run)) }),
    );

    // Assess
    expect(run).not.toHaveBeenCalled();
    expect(sentEvent().entry?.DetailType).toBe('Job Timed Out');
  });
});

describe('worker: retries owned by eventjobs', () => {
  it('retries the flaky type after a backoff and reports the attempt that succeeded', async () => {
    // Act
    const result = await runWorker(
      payload({ type: 'flaky', input: { failures: 2 } }),
      lambdaContext(),
      deps({ random: () => 0 }),
    );

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Completed' });
    expect(sentEvent().detail).toMatchObject({ attempt: 3, result: { attempt: 3 } });
    expect(stored?.attempt).toBe(3);
  });

  it("records every attempt's error when the last attempt fails", async () => {
    // Act
    await runWorker(
      payload({ type: 'flaky', input: { failures: 5 } }),
      lambdaContext(),
      deps({ random: () => 0 }),
    );

    // Assess
    const detail = jobFailedDetailSchema.parse(sentEvent().detail);
    expect(detail.attempt).toBe(3);
    expect(detail.error).toEqual({ name: 'FlakyError', message: 'Attempt 3 failed on purpose' });
    expect(detail.attempts?.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(detail.attempts?.[0]?.error.message).toBe('Attempt 1 failed on purpose');
  });

  it('does not retry when the backoff would not fit before the deadline', async () => {
    // Prepare: a 1 s deadline and a 5 s backoff
    const slowRetry = {
      ...testType(async () => {
        throw new Error('nope');
      }),
      defaultTimeoutSeconds: 1,
      retry: { maxAttempts: 5, initialBackoffMs: 5000, multiplier: 1, maxBackoffMs: 5000 },
    };

    // Act
    await runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(slowRetry), random: () => 0.999 }),
    );

    // Assess
    const detail = jobFailedDetailSchema.parse(sentEvent().detail);
    expect(detail.attempt).toBe(1);
    expect(detail.attempts).toBeUndefined();
  });

  it('computes full-jitter backoff capped at the maximum', () => {
    const policy = { maxAttempts: 5, initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 350 };
    expect(backoffMs(policy, 1, () => 0.5)).toBe(50);
    expect(backoffMs(policy, 2, () => 0.5)).toBe(100);
    expect(backoffMs(policy, 3, () => 0.5)).toBe(175);
    expect(backoffMs(policy, 3, () => 0)).toBe(0);
  });
});

describe('worker: a run invoked twice (the lease)', () => {
  it('refuses a second invocation with another request id while the holder beats', async () => {
    // Prepare: another invocation claimed the run and beat a second ago
    stored = stored && {
      ...stored,
      startedAt: '2026-01-05T09:59:58.000Z',
      attempt: 1,
      leaseId: 'other-request',
      heartbeatAt: '2026-01-05T09:59:59.000Z',
    };

    // Act
    const result = await runWorker(payload(), lambdaContext(), deps());

    // Assess
    expect(result).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/lease/) });
    expect(sentEntries()).toHaveLength(0);
    expect(stored?.leaseId).toBe('other-request');
  });

  it('lets Lambda retry the same invocation (same request id)', async () => {
    // Prepare
    const context = lambdaContext();
    stored = stored && {
      ...stored,
      startedAt: '2026-01-05T09:59:58.000Z',
      attempt: 1,
      leaseId: context.awsRequestId,
      heartbeatAt: '2026-01-05T09:59:59.000Z',
    };

    // Act
    const result = await runWorker(payload(), context, deps());

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Completed' });
    expect(sentEvent().detail.attempt).toBe(2);
  });

  it('takes over from a holder whose heartbeat is stale', async () => {
    // Prepare
    stored = stored && {
      ...stored,
      startedAt: '2026-01-05T09:50:00.000Z',
      attempt: 1,
      leaseId: 'dead-request',
      heartbeatAt: '2026-01-05T09:50:01.000Z',
    };
    const context = lambdaContext();

    // Act
    const result = await runWorker(payload(), context, deps());

    // Assess
    expect(result.status).toBe('reported');
    expect(stored?.leaseId).toBe(context.awsRequestId);
  });
});

describe('worker: lifecycle events', () => {
  it('puts Job Started before the outcome, with the attempt and the deadline', async () => {
    // Act
    await runWorker(payload(), lambdaContext(), deps({ maxTimeoutSeconds: 60 }));

    // Assess
    const types = allEntries().map((entry) => entry.DetailType);
    expect(types).toEqual(['Job Started', 'Job Completed']);
    const started = jobStartedDetailSchema.parse(JSON.parse(allEntries()[0]?.Detail ?? '{}'));
    expect(started).toMatchObject({
      attempt: 1,
      startedAt: '2026-01-05T10:00:00.000Z',
      deadlineAt: '2026-01-05T10:01:00.000Z',
    });
  });

  it('throttles Job Progress to one event per interval', async () => {
    // Prepare: ten progress calls over 10 s, events at most every 5 s
    vi.useFakeTimers({ now: START });
    const chatty = testType(async (_input, ctx) => {
      for (let i = 0; i < 10; i++) {
        await ctx.progress(i * 10, `step ${i}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      return 'done';
    });
    const running = runWorker(
      payload({ type: 'test' }),
      lambdaContext(),
      deps({ getJobType: only(chatty), now: () => new Date(), progressEventIntervalMs: 5000 }),
    );

    // Act
    await vi.advanceTimersByTimeAsync(10_000);
    await running;

    // Assess
    const progress = allEntries().filter((entry) => entry.DetailType === 'Job Progress');
    expect(progress).toHaveLength(2);
    const first = jobProgressDetailSchema.parse(JSON.parse(progress[0]?.Detail ?? '{}'));
    expect(first).toMatchObject({ percent: 0, message: 'step 0', attempt: 1 });
  });

  it('still reports the outcome when Job Started cannot be put', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });

    // Act
    const result = await runWorker(payload(), lambdaContext(), deps());

    // Assess
    expect(result).toEqual({ status: 'reported', detailType: 'Job Completed' });
  });
});

describe('worker: metrics and log keys', () => {
  let output: PowertoolsOutput;

  beforeEach(() => {
    output = capturePowertoolsOutput();
  });

  it("records the run's queue wait, from its creation to the worker's start", async () => {
    // Prepare: created at 09:59:59, started at 10:00:00
    const metrics = createJobMetrics();

    // Act
    await runWorker(payload(), lambdaContext(), deps({ metrics }));
    metrics.publish();

    // Assess
    expect(output.emf()).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: 'eventjobs',
              Dimensions: [['type']],
              Metrics: [{ Name: 'QueueWait', Unit: 'Milliseconds' }],
            },
          ],
        },
        type: 'echo',
        QueueWait: 1000,
      },
    ]);
  });

  it('records no queue wait for a later attempt of a run that had started', async () => {
    // Prepare: an earlier invocation started the run and died
    stored = activeJob({
      runId: RUN_ID,
      createdAt: '2026-01-05T09:59:59.000Z',
      startedAt: '2026-01-05T09:59:59.500Z',
      attempt: 1,
    });
    const metrics = createJobMetrics();

    // Act
    await runWorker(payload(), lambdaContext(), deps({ metrics }));
    metrics.publish();

    // Assess
    expect(sentEvent().entry?.DetailType).toBe('Job Completed');
    expect(output.emf()).toEqual([]);
  });

  it('publishes per invocation and logs with the function, the run and the request id', async () => {
    // Prepare: the handler's own clock, at the run's start
    vi.useFakeTimers({ toFake: ['Date'], now: START });
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    stubTimerEnv();
    vi.resetModules();
    const { handler } = await import('../../../../functions/worker/handler');
    const context = lambdaContext();

    // Act
    await handler(payload(), context);

    // Assess
    expect(output.emf()).toEqual([expect.objectContaining({ type: 'echo', QueueWait: 1000 })]);
    const logs = output.logs();
    expect(logs.map((line) => line.message)).toEqual(['Run started', 'Run ended']);
    for (const line of logs) {
      expect(line).toMatchObject({
        service: 'eventjobs',
        function: 'worker',
        function_request_id: context.awsRequestId,
        owner: USER_ARN,
        jobName: 'nightly-report',
        runId: RUN_ID,
      });
    }
  });
});
