/**
 * The lifecycle events' published contract (`docs/events/`): the files are what
 * `scripts/event-schemas.ts` generates from the zod schemas now, and every
 * detail the code puts, from every function that puts one, meets the JSON
 * Schema of its detail-type.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EVENT_SOURCE, JobEventType } from '../../../core/events';
import { defineJobType, type JobType } from '../../../core/job-type';
import type { ConcurrencyLimits } from '../../../core/limits';
import type { ActiveJob } from '../../../core/model';
import { cancelJob } from '../../../functions/cancel-job/service';
import { completeRun } from '../../../functions/completion/service';
import { jobEventPutter } from '../../../functions/shared/bus';
import { getJobType } from '../../../functions/shared/job-registry';
import { SlotStore } from '../../../functions/shared/slots';
import { StepStore } from '../../../functions/shared/step-store';
import { type CreateResult, JobStore } from '../../../functions/shared/store';
import { startJob } from '../../../functions/start-job/service';
import { sweep } from '../../../functions/sweeper/service';
import { type AttemptInfo, report } from '../../../functions/worker/events';
import { runWorker, type WorkerDeps } from '../../../functions/worker/service';
import {
  CONTRACT_DETAIL_TYPES,
  type ContractDetailType,
  detailSchemaFile,
  ENVELOPE_SCHEMA_FILE,
  EVENT_SCHEMAS_DIR,
  eventSchemaFiles,
} from '../../../scripts/event-schemas';
import { activeItem, activeJob, USER_ARN } from '../helpers/api-event';
import { lambdaContext } from '../helpers/lambda-context';
import { capturePowertoolsOutput } from '../helpers/powertools-output';

const ddb = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUS = 'eventjobs-bus';
const RUN_ID = '01JDXR3Y5Q6Z8A9B0C1D2E3F4G';
const REGENERATE = 'docs/events is out of date: run `npx tsx scripts/event-schemas.ts`';

/** The schema files in docs/events, parsed, by name. */
function publishedFiles(): Map<string, unknown> {
  const dir = join(ROOT, EVENT_SCHEMAS_DIR);
  const names = readdirSync(dir).filter((name) => name.endsWith('.schema.json'));
  return new Map(names.map((name) => [name, JSON.parse(readFileSync(join(dir, name), 'utf8'))]));
}

/**
 * The schema with `additionalProperties: false` on every object that lists its
 * properties. The published schemas are open, so consumers keep accepting v1
 * events that gained an optional field; the code itself must put only the fields
 * the contract documents.
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, closed(value)]),
  );
  return 'properties' in copy && !('additionalProperties' in copy)
    ? { ...copy, additionalProperties: false }
    : copy;
}

/** A validator holding every published schema (closed ones for the details, when asked). */
function validatorOf(options: { readonly closed: boolean }): Ajv2020 {
  // strictTypes would only log about the envelope's `oneOf` branches, which narrow
  // `properties` without repeating `type: "object"`.
  const ajv = new Ajv2020({ allErrors: true, strictTypes: false });
  addFormats(ajv);
  for (const [name, schema] of publishedFiles()) {
    const isDetail = name !== ENVELOPE_SCHEMA_FILE;
    ajv.addSchema((options.closed && isDetail ? closed(schema) : schema) as object, name);
  }
  return ajv;
}

const published = validatorOf({ closed: false });
const strict = validatorOf({ closed: true });

/** The errors of `value` against a published file, as text; '' when it is valid. */
function errorsOf(ajv: Ajv2020, file: string, value: unknown): string {
  const validate = ajv.getSchema(file);
  if (!validate) throw new Error(`No schema ${file} in docs/events`);
  return validate(value) ? '' : ajv.errorsText(validate.errors, { dataVar: file });
}

/** Every entry put on the (mocked) bus so far. */
function putEntries(): PutEventsRequestEntry[] {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? []);
}

function isContractDetailType(value: string | undefined): value is ContractDetailType {
  return CONTRACT_DETAIL_TYPES.some((detailType) => detailType === value);
}

/**
 * Checks every entry put so far: its detail meets its detail-type's schema
 * (closed), and the event as a rule's target gets it meets the envelope's.
 * Returns the detail-types and details, for the scenario to check it saw what it meant to.
 */
function expectContractKept(): { readonly types: string[]; readonly details: unknown[] } {
  const entries = putEntries();
  expect(entries.length).toBeGreaterThan(0);
  for (const entry of entries) {
    expect(entry.Source).toBe(EVENT_SOURCE);
    const detailType = entry.DetailType;
    if (!isContractDetailType(detailType)) {
      throw new Error(
        `"${detailType}" has no published schema: add it to scripts/event-schemas.ts`,
      );
    }
    const detail: unknown = JSON.parse(entry.Detail ?? 'null');
    expect(errorsOf(strict, detailSchemaFile(detailType), detail), entry.Detail).toBe('');
    expect(errorsOf(published, ENVELOPE_SCHEMA_FILE, delivered(detailType, detail))).toBe('');
  }
  return {
    types: entries.map((entry) => entry.DetailType ?? ''),
    details: entries.map((entry) => JSON.parse(entry.Detail ?? 'null')),
  };
}

/** The event as EventBridge delivers it to a rule's target (AWS-FACTS: the envelope). */
function delivered(detailType: string, detail: unknown) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': detailType,
    source: EVENT_SOURCE,
    account: '123456789012',
    time: '2026-01-05T10:00:03Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  capturePowertoolsOutput();
});

describe('docs/events', () => {
  it('holds exactly what scripts/event-schemas.ts generates from the zod schemas now', () => {
    // Prepare
    const generated = new Map(
      [...eventSchemaFiles()].map(([name, schema]) => [name, JSON.parse(JSON.stringify(schema))]),
    );

    // Act
    const files = publishedFiles();

    // Assess
    expect([...files.keys()].sort(), REGENERATE).toEqual([...generated.keys()].sort());
    for (const [name, schema] of generated) expect(files.get(name), REGENERATE).toEqual(schema);
  });

  it('publishes one schema per detail-type, titled with it, with a versioned $id', () => {
    for (const detailType of CONTRACT_DETAIL_TYPES) {
      const schema = publishedFiles().get(detailSchemaFile(detailType));
      expect(schema).toMatchObject({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        title: detailType,
        $id: expect.stringMatching(/^urn:eventjobs:events:job-[a-z-]+:v1$/),
        description: expect.any(String),
      });
    }
  });
});

/** A one-record jobs table for the worker: reads `stored`, applies its claim and progress writes. */
let stored: ActiveJob | undefined;

function fakeWorkerTable(): void {
  ddb.on(GetItemCommand).callsFake(async () => ({
    Item: stored ? await activeItem(stored) : undefined,
  }));
  ddb.on(UpdateItemCommand).callsFake(async (input: UpdateItemCommandInput) => {
    if (!stored) throw new Error('No record to update');
    const values = input.ExpressionAttributeValues ?? {};
    const at = values[':at']?.S ?? new Date().toISOString();
    const lease = values[':lease']?.S;
    const attempt = values[':attempt']?.N;
    const progress = values[':progress']?.M;
    stored = {
      ...stored,
      updatedAt: at,
      ...(lease
        ? {
            leaseId: lease,
            attemptStartedAt: at,
            startedAt: stored.startedAt ?? at,
            deadlineAt: stored.deadlineAt ?? values[':deadline']?.S,
          }
        : {}),
      ...(attempt ? { attempt: Number(attempt), startedAt: stored.startedAt ?? at } : {}),
      ...(progress
        ? {
            progress: {
              percent: Number(progress.percent?.N),
              message: progress.message?.S,
              at: progress.at?.S ?? at,
            },
          }
        : {}),
    };
    return { Attributes: await activeItem(stored) };
  });
}

function workerDeps(type: JobType, overrides: Partial<WorkerDeps> = {}): WorkerDeps {
  return {
    store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
    eventBridge: new EventBridgeClient({}),
    busName: BUS,
    maxEventBytes: 256 * 1024,
    maxResultBytes: 320 * 1024,
    deadlineMarginMs: 2000,
    now: () => new Date(),
    getJobType: (name) => (name === type.name ? type : undefined),
    steps: new StepStore(new DynamoDBClient({}), 'jobs-table'),
    resumer: { continueRun: async () => undefined, wakeAt: async () => undefined },
    retentionSeconds: 7 * 24 * 60 * 60,
    ...overrides,
  };
}

function contractType(run: JobType['run'], retry?: JobType['retry']): JobType {
  return defineJobType({
    name: 'contract',
    description: 'A job type for the event contract',
    input: z.unknown(),
    run,
    ...(retry ? { retry } : {}),
  });
}

async function runOnce(type: JobType): Promise<void> {
  stored = activeJob({ runId: RUN_ID, type: type.name, createdAt: new Date().toISOString() });
  fakeWorkerTable();
  const payload = {
    owner: USER_ARN,
    jobName: stored.jobName,
    runId: RUN_ID,
    type: type.name,
    input: { value: 1 },
    submittedAt: stored.createdAt,
  };
  await runWorker(payload, lambdaContext(), workerDeps(type));
}

describe('the worker puts details that meet their schemas', () => {
  it('Job Started, Job Progress with a message, and Job Completed with a result', async () => {
    // Prepare
    const type = contractType(async (_input, ctx) => {
      await ctx.progress(42, 'reading rows');
      return { rows: [1, 2], note: null, nested: { deep: 'é' } };
    });

    // Act
    await runOnce(type);

    // Assess
    const { types } = expectContractKept();
    expect(types).toEqual(['Job Started', 'Job Progress', 'Job Completed']);
  });

  it('Job Failed with the history of its attempts', async () => {
    // Prepare
    const type = contractType(
      async () => {
        throw new RangeError('the input was out of range');
      },
      { maxAttempts: 2, initialBackoffMs: 1, multiplier: 1, maxBackoffMs: 1 },
    );

    // Act
    await runOnce(type);

    // Assess
    const { types, details } = expectContractKept();
    expect(types.at(-1)).toBe('Job Failed');
    expect(details.at(-1)).toMatchObject({
      error: { name: 'RangeError' },
      attempts: [{ attempt: 1 }, { attempt: 2 }],
    });
  });

  const info: AttemptInfo = {
    owner: USER_ARN,
    jobName: 'nightly-report',
    runId: RUN_ID,
    type: 'contract',
    attempt: 2,
    startedAt: '2026-01-05T10:00:00.000Z',
    deadlineAt: '2026-01-05T10:15:00.000Z',
  };
  const eventDeps = {
    eventBridge: new EventBridgeClient({}),
    busName: BUS,
    maxEventBytes: 256 * 1024,
    maxResultBytes: 16,
    now: () => new Date('2026-01-05T10:15:01.500Z'),
  };

  it.each([
    [
      'Job Cancelled of a cancelled run',
      'Job Cancelled',
      { kind: 'cancelled', reason: 'Cancel requested at 2026-01-05T10:05:00Z' },
    ],
    [
      'Job Timed Out with its deadline',
      'Job Timed Out',
      { kind: 'timedOut', reason: 'The run passed its deadline' },
    ],
    [
      'Job Failed of a result over the size limit',
      'Job Failed',
      { kind: 'completed', result: 'a result longer than the limit allows' },
    ],
    ['Job Completed without a result', 'Job Completed', { kind: 'completed', result: undefined }],
  ] as const)('%s', async (_label, detailType, outcome) => {
    // Act
    const sent = await report(info, outcome, eventDeps);

    // Assess
    expect(sent).toBe(detailType);
    expect(expectContractKept().types).toEqual([detailType]);
  });
});

describe('the other functions put details that meet their schemas', () => {
  const putEvent = jobEventPutter(new EventBridgeClient({}), BUS);
  const now = new Date('2026-01-05T12:00:00.000Z');

  it('start-job: Job Queued with its place in the queue', async () => {
    // Prepare: a start over the owner's limit, with no slot free when it looks again.
    const limits: ConcurrencyLimits = { perOwner: 1, maxQueuedPerOwner: 10, perType: {} };
    class FullSlots extends SlotStore {
      override async hasRoom(): Promise<boolean> {
        return false;
      }
      override async position(): Promise<number> {
        return 3;
      }
    }
    class QueueingStore extends JobStore {
      override async createActive(job: ActiveJob): Promise<CreateResult> {
        const seq = `${job.createdAt}#${job.runId}`;
        return { created: true, job: { ...job, status: 'QUEUED', queue: { seq, rounds: {} } } };
      }
    }
    const client = new DynamoDBClient({});
    const store = new QueueingStore(
      client,
      'jobs-table',
      new FullSlots(client, 'jobs-table', limits),
    );

    // Act
    const started = await startJob(
      USER_ARN,
      { type: 'echo', name: 'queued-report', input: { value: 1 } },
      {
        store,
        lambda: new LambdaClient({}),
        workerFunctionName: 'eventjobs-worker',
        maxInputBytes: 64 * 1024,
        now: () => now,
        putEvent,
      },
    );

    // Assess
    expect(started).toMatchObject({ status: 'QUEUED', position: 3 });
    expect(expectContractKept().types).toEqual(['Job Queued']);
  });

  it.each([
    [
      'a queued run (no attempt, no start)',
      activeJob({ status: 'QUEUED', queue: { seq: `x#${RUN_ID}`, rounds: {} } }),
    ],
    [
      'a sleeping run (its attempt and start)',
      activeJob({
        attempt: 1,
        startedAt: '2026-01-05T11:00:00.000Z',
        wakeAt: '2026-01-05T13:00:00.000Z',
        sleepName: 'cool-down',
      }),
    ],
  ])('cancel-job: Job Cancelled of %s', async (_label, job) => {
    // Prepare
    const record = { ...job, cancelRequestedAt: now.toISOString() };
    ddb.on(UpdateItemCommand).resolves({ Attributes: await activeItem(record) });

    // Act
    await cancelJob(USER_ARN, record.jobName, {
      store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
      now: () => now,
      putEvent,
    });

    // Assess
    const { types, details } = expectContractKept();
    expect(types).toEqual(['Job Cancelled']);
    expect(details[0]).toMatchObject({ reportedBy: 'api' });
  });

  it('sweeper: Job Timed Out with and without attempt and start, and Job Cancelled', async () => {
    // Prepare
    const records = [
      activeJob({ jobName: 'never-started', createdAt: '2026-01-05T01:00:00.000Z' }),
      activeJob({
        jobName: 'overdue',
        attempt: 3,
        startedAt: '2026-01-05T11:00:00.000Z',
        heartbeatAt: '2026-01-05T11:59:00.000Z',
        deadlineAt: '2026-01-05T11:30:00.000Z',
      }),
      activeJob({
        jobName: 'cancelled-in-queue',
        status: 'QUEUED',
        queue: { seq: `x#${RUN_ID}`, rounds: {} },
        cancelRequestedAt: '2026-01-05T11:00:00.000Z',
      }),
    ];
    const items = await Promise.all(records.map((record) => activeItem(record)));
    let served = false;
    ddb.on(QueryCommand).callsFake(async () => {
      // Every shard of the index is queried: the first one read holds the records.
      const page = served ? [] : items;
      served = true;
      return { Items: page };
    });

    // Act
    await sweep({
      store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
      eventBridge: new EventBridgeClient({}),
      busName: BUS,
      now: () => now,
      graceMs: 30_000,
      silentAfterMs: 600_000,
      startWindowMs: 6 * 3600_000,
    });

    // Assess
    const { types, details } = expectContractKept();
    expect(types.sort()).toEqual(['Job Cancelled', 'Job Timed Out', 'Job Timed Out']);
    const neverStarted = details.find(
      (detail) => (detail as { jobName?: string }).jobName === 'never-started',
    );
    expect(neverStarted).not.toHaveProperty('attempt');
    expect(neverStarted).not.toHaveProperty('startedAt');
  });

  describe('completion', () => {
    const running = activeJob({
      runId: RUN_ID,
      attempt: 1,
      startedAt: '2026-01-05T11:59:00.000Z',
      createdAt: '2026-01-05T11:58:59.000Z',
    });
    const workerArn = 'arn:aws:lambda:us-east-1:123456789012:function:eventjobs-worker:$LATEST';
    const workerFailure = {
      ...delivered('Lambda Function Invocation Result - Failure', {
        version: '1.0',
        timestamp: '2026-01-05T12:00:00.000Z',
        requestContext: {
          requestId: 'c1b0ff7d-0bb4-4d8d-b5c4-0e5e3b0a9a11',
          functionArn: workerArn,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: {
          owner: running.owner,
          jobName: running.jobName,
          runId: RUN_ID,
          type: running.type,
          submittedAt: running.createdAt,
        },
        responseContext: {
          statusCode: 200,
          executedVersion: '$LATEST',
          functionError: 'Unhandled',
        },
        responsePayload: { errorType: 'Error', errorMessage: 'Runtime exited' },
      }),
      source: 'lambda',
    };
    const completedWithLargeResult = delivered('Job Completed', {
      owner: running.owner,
      jobName: running.jobName,
      runId: RUN_ID,
      type: running.type,
      attempt: 1,
      startedAt: '2026-01-05T11:59:00.000Z',
      finishedAt: '2026-01-05T11:59:30.000Z',
      durationMs: 30_000,
      result: { value: 'x'.repeat(40 * 1024) },
    });

    it.each([
      [
        "Job Failed of a run Lambda's failure destination ended, then its Job Finished",
        workerFailure,
        ['Job Failed', 'Job Finished'],
      ],
      [
        'Job Finished of a run whose result is too large to carry',
        completedWithLargeResult,
        ['Job Finished'],
      ],
    ])('%s', async (_label, event, expected) => {
      // Prepare
      ddb.on(GetItemCommand).callsFake(async () => ({ Item: await activeItem(running) }));
      ddb.on(TransactWriteItemsCommand).resolves({});
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      await completeRun(event, {
        store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
        retentionSeconds: 7 * 24 * 60 * 60,
        now: () => now,
        getJobType,
        putEvent,
      });

      // Assess
      expect(expectContractKept().types).toEqual(expected);
    });
  });
});

describe('the schemas refuse what breaks the contract', () => {
  const completed = {
    owner: USER_ARN,
    jobName: 'nightly-report',
    runId: RUN_ID,
    type: 'echo',
    attempt: 1,
    startedAt: '2026-01-05T10:00:00.000Z',
    finishedAt: '2026-01-05T10:00:02.500Z',
    durationMs: 2500,
    result: { value: 'hello' },
  };
  const file = detailSchemaFile(JobEventType.Completed);

  it('accepts a valid detail, and one with a field v1 does not know yet', () => {
    expect(errorsOf(published, file, completed)).toBe('');
    expect(errorsOf(published, file, { ...completed, addedLater: true })).toBe('');
  });

  it.each([
    ['a missing required field', (({ runId: _runId, ...rest }) => rest)(completed), 'runId'],
    ['a field of the wrong type', { ...completed, durationMs: '2500' }, 'durationMs'],
    ['a time that is not ISO 8601', { ...completed, finishedAt: 'yesterday' }, 'finishedAt'],
    ['an invalid job name', { ...completed, jobName: '..' }, 'jobName'],
  ])('refuses a detail with %s', (_label, detail, field) => {
    expect(errorsOf(published, file, detail)).toContain(field);
  });

  it('refuses, in the check of what the code puts, a field the contract does not document', () => {
    expect(errorsOf(strict, file, { ...completed, addedLater: true })).toContain(
      'additional properties',
    );
  });

  it('refuses an event whose detail does not match its detail-type', () => {
    const { owner, jobName, runId, type, attempt } = completed;
    const progress = {
      owner,
      jobName,
      runId,
      type,
      attempt,
      percent: 10,
      at: completed.finishedAt,
    };
    expect(
      errorsOf(published, ENVELOPE_SCHEMA_FILE, delivered('Job Progress', completed)),
    ).not.toBe('');
    expect(errorsOf(published, ENVELOPE_SCHEMA_FILE, delivered('Job Progress', progress))).toBe('');
    expect(
      errorsOf(published, ENVELOPE_SCHEMA_FILE, {
        ...delivered('Job Completed', completed),
        source: 'aws.events',
      }),
    ).not.toBe('');
  });
});
