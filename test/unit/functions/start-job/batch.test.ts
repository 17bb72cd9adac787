/**
 * POST /jobs/batch through the start-job handler, DynamoDB mocked: the
 * batch's own checks (400s before anything is written, 413 over the size
 * limit), each entry started or failed on its own and reported in the
 * batch's order, entries of one name one after the other, and at most
 * BATCH_START_CONCURRENCY entries started at once.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../../../../core/errors';
import type { ApiHandler } from '../../../../functions/shared/http';
import {
  BATCH_START_CONCURRENCY,
  entryFailure,
  MAX_DETAILS_PER_ENTRY,
} from '../../../../functions/start-job/batch';
import { MAX_BATCH_BODY_BYTES } from '../../../../functions/start-job/batch-limits';
import { apiEvent, bodyOf } from '../../helpers/api-event';
import { lambdaContext } from '../../helpers/lambda-context';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../helpers/lambda-endpoint';
import { capturePowertoolsOutput, type PowertoolsOutput } from '../../helpers/powertools-output';

const ddb = mockClient(DynamoDBClient);
let lambda: LambdaEndpoint;
let handler: ApiHandler;
let output: PowertoolsOutput;

beforeAll(async () => {
  lambda = await startLambdaEndpoint();
  vi.resetModules();
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  vi.stubEnv('MAX_INPUT_BYTES', '');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUNITTEST00000000');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit-test-secret');
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  ({ handler } = await import('../../../../functions/start-job/handler'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await lambda.close();
});

beforeEach(() => {
  ddb.reset();
  lambda.reset();
  ddb.on(PutItemCommand).resolves({});
  output = capturePowertoolsOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  ddb.reset();
  lambda.reset();
});

/** `POST /jobs/batch` with this body (a string is sent as it is), with the function's 29 s ahead. */
function batch(body: unknown, timeoutMs = 29_000) {
  return handler(
    apiEvent({ method: 'POST', path: '/jobs/batch', routeKey: 'POST /jobs/batch', body }),
    lambdaContext({ functionName: 'eventjobs-start-job', timeoutMs }),
  );
}

interface BatchBody {
  successful: {
    id: string;
    jobName: string;
    created: boolean;
    status: string;
    statusUrl: string;
  }[];
  failed: { id: string; code: string; senderFault: boolean; details?: unknown[] }[];
}

const echo = (id: string, name: string, value: unknown = name) => ({
  id,
  type: 'echo',
  name,
  input: { value },
});

describe('POST /jobs/batch: the batch as a whole', () => {
  it.each([
    ['a body that is not an object', '[]', 'InvalidBody'],
    ['no jobs array', { jobs: { a: 1 } }, 'InvalidBody'],
    ['a key beside jobs', { jobs: [echo('a', 'x')], extra: true }, 'InvalidBody'],
    ['no entries', { jobs: [] }, 'EmptyBatchRequest'],
    [
      '101 entries',
      { jobs: Array.from({ length: 101 }, (_, i) => echo(`e${i}`, `n${i}`)) },
      'TooManyEntriesInBatchRequest',
    ],
    ['an entry without an id', { jobs: [{ type: 'echo' }] }, 'InvalidBatchEntryId'],
    ['an entry that is not an object', { jobs: ['echo'] }, 'InvalidBatchEntryId'],
    ['an empty id', { jobs: [echo('', 'x')] }, 'InvalidBatchEntryId'],
    ['an id with a space', { jobs: [echo('a b', 'x')] }, 'InvalidBatchEntryId'],
    ['an id of 81 characters', { jobs: [echo('a'.repeat(81), 'x')] }, 'InvalidBatchEntryId'],
    ['a number as id', { jobs: [{ ...echo('a', 'x'), id: 7 }] }, 'InvalidBatchEntryId'],
    ['a repeated id', { jobs: [echo('a', 'x'), echo('a', 'y')] }, 'BatchEntryIdsNotDistinct'],
  ])('answers 400 for %s and starts nothing', async (_case, body, code) => {
    // Act
    const result = await batch(body);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code } });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(lambda.received).toHaveLength(0);
  });

  it('takes ids of 80 characters of A-Z a-z 0-9 - _', async () => {
    // Prepare
    const id = `${'A-z_9'.repeat(16)}`;

    // Act
    const result = await batch({ jobs: [echo(id, 'eighty')] });

    // Assess
    expect(id).toHaveLength(80);
    expect(result.statusCode).toBe(200);
    expect((bodyOf(result) as unknown as BatchBody).successful[0]?.id).toBe(id);
  });

  it('answers 413 naming the limit for a body over MAX_BATCH_BODY_BYTES', async () => {
    // Prepare
    const body = JSON.stringify({ jobs: [echo('a', 'big', 'x'.repeat(MAX_BATCH_BODY_BYTES))] });

    // Act
    const result = await batch(body);

    // Assess
    expect(result.statusCode).toBe(413);
    const error = bodyOf(result).error as { code: string; message: string };
    expect(error.code).toBe('PayloadTooLarge');
    expect(error.message).toContain(String(MAX_BATCH_BODY_BYTES));
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('leaves POST /jobs as it was: a batch body there is an invalid start request', async () => {
    // Act
    const result = await handler(
      apiEvent({ method: 'POST', path: '/jobs', body: { jobs: [echo('a', 'x')] } }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidBody' } });
  });
});

describe('POST /jobs/batch: each entry on its own', () => {
  it('starts the valid entries and reports the others, each list in the batch order', async () => {
    // Prepare
    const jobs = [
      echo('e1', 'first'),
      { id: 'e2', type: 'no-such-type', name: 'second' },
      echo('e3', 'third'),
      { id: 'e4', type: 'sleep', name: 'fourth', input: { seconds: 'ten' } },
      { id: 'e5', type: 'echo', name: 'fifth', extra: 1 },
      echo('e6', '..'),
      echo('e7', 'seventh'),
    ];

    // Act
    const result = await batch({ jobs });

    // Assess: 200 for the batch, whatever its entries did
    expect(result.statusCode).toBe(200);
    const body = bodyOf(result) as unknown as BatchBody;
    expect(body.successful.map((s) => s.id)).toEqual(['e1', 'e3', 'e7']);
    expect(body.successful[0]).toEqual({
      id: 'e1',
      jobName: 'first',
      runId: expect.stringMatching(/^[0-9A-Z]{26}$/),
      status: 'RUNNING',
      created: true,
      statusUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/jobs/first',
    });
    expect(body.failed).toEqual([
      {
        id: 'e2',
        code: 'UnknownJobType',
        message: expect.stringContaining('no-such-type'),
        senderFault: true,
      },
      {
        id: 'e4',
        code: 'InvalidInput',
        message: expect.any(String),
        senderFault: true,
        details: [expect.objectContaining({ path: 'input.seconds' })],
      },
      {
        id: 'e5',
        code: 'InvalidBody',
        message: expect.any(String),
        senderFault: true,
        details: expect.any(Array),
      },
      { id: 'e6', code: 'InvalidJobName', message: expect.any(String), senderFault: true },
    ]);
    // Assess: only the valid entries were written and handed to the worker
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(3);
    expect(lambda.received).toHaveLength(3);
  });

  it('names an unnamed entry as POST /jobs would (a ULID)', async () => {
    // Act
    const result = await batch({ jobs: [{ id: 'x', type: 'echo', input: { value: 1 } }] });

    // Assess
    const body = bodyOf(result) as unknown as BatchBody;
    expect(body.successful[0]?.jobName).toMatch(/^[0-9A-Z]{26}$/);
  });

  it('reports a worker that cannot be invoked as ServiceUnavailable, not the sender’s fault', async () => {
    // Prepare
    lambda.answer({ status: 500, errorType: 'ServiceException' });

    // Act
    const result = await batch({ jobs: [echo('a', 'unlucky')] });

    // Assess
    expect(result.statusCode).toBe(200);
    expect((bodyOf(result) as unknown as BatchBody).failed).toEqual([
      {
        id: 'a',
        code: 'ServiceUnavailable',
        message: expect.any(String),
        senderFault: false,
        retryAfterSeconds: 2,
      },
    ]);
  });

  it('with too little of the function’s time left, begins only the first round and says to send the rest again', async () => {
    // Prepare
    const jobs = Array.from({ length: BATCH_START_CONCURRENCY + 2 }, (_, i) =>
      echo(`e${i}`, `late-${i}`),
    );

    // Act: less than ENTRY_RESERVE_MS left
    const result = await batch({ jobs }, 10_000);

    // Assess: the first round always begins, so a batch sent again always makes progress
    expect(result.statusCode).toBe(200);
    const body = bodyOf(result) as unknown as BatchBody;
    expect(body.successful).toHaveLength(BATCH_START_CONCURRENCY);
    expect(body.failed).toEqual(
      jobs.slice(BATCH_START_CONCURRENCY).map(({ id }) => ({
        id,
        code: 'NotAttempted',
        message: expect.any(String),
        senderFault: false,
      })),
    );
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(BATCH_START_CONCURRENCY);
  });

  it('runs entries of one name one after the other, as two POST /jobs would', async () => {
    // Prepare: DynamoDB as it behaves for one name; each put takes a moment
    let stored: PutItemCommandInput['Item'];
    let puts = 0;
    let overlapping = false;
    ddb.on(PutItemCommand).callsFake(async (input: PutItemCommandInput) => {
      puts += 1;
      if (puts > 1) overlapping = true;
      await new Promise((resolve) => setTimeout(resolve, 5));
      puts -= 1;
      if (stored === undefined) {
        stored = input.Item;
        return {};
      }
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: stored,
      });
    });

    // Act
    const result = await batch({
      jobs: [echo('a', 'twice', 1), echo('b', 'twice', 1), echo('c', 'twice', 2)],
    });

    // Assess: the first starts it, the same start again is the same run, another is a conflict
    const body = bodyOf(result) as unknown as BatchBody;
    expect(overlapping).toBe(false);
    expect(body.successful.map(({ id, created }) => ({ id, created }))).toEqual([
      { id: 'a', created: true },
      { id: 'b', created: false },
    ]);
    expect(body.failed).toEqual([
      { id: 'c', code: 'JobNameInUse', message: expect.any(String), senderFault: true },
    ]);
  });

  it(`starts at most ${BATCH_START_CONCURRENCY} entries at once`, async () => {
    // Prepare
    let active = 0;
    let most = 0;
    ddb.on(PutItemCommand).callsFake(async () => {
      active += 1;
      most = Math.max(most, active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active -= 1;
      return {};
    });
    const jobs = Array.from({ length: 40 }, (_, i) => echo(`e${i}`, `job-${i}`));

    // Act
    const result = await batch({ jobs });

    // Assess
    const body = bodyOf(result) as unknown as BatchBody;
    expect(body.successful).toHaveLength(40);
    expect(body.successful.map((s) => s.id)).toEqual(jobs.map((job) => job.id));
    expect(most).toBe(BATCH_START_CONCURRENCY);
  });

  it('maps a throttled dependency to Throttled and a defect to a bare InternalError, and logs both', async () => {
    // Prepare: DynamoDB throttles one entry's put and fails another's with a defect
    ddb.on(PutItemCommand).callsFake(async (input: PutItemCommandInput) => {
      const name = input.Item?.jobName?.S;
      if (name === 'throttled') {
        throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      }
      if (name === 'broken') throw new Error('secret internals: table schema mismatch');
      return {};
    });

    // Act
    const result = await batch({
      jobs: [echo('a', 'fine'), echo('b', 'throttled'), echo('c', 'broken')],
    });

    // Assess: the answer
    const body = bodyOf(result) as unknown as BatchBody;
    expect(body.successful.map((s) => s.id)).toEqual(['a']);
    expect(body.failed).toEqual([
      {
        id: 'b',
        code: 'Throttled',
        message: expect.any(String),
        senderFault: false,
        retryAfterSeconds: 1,
      },
      { id: 'c', code: 'InternalError', message: 'An internal error occurred', senderFault: false },
    ]);
    expect(result.body).not.toContain('secret internals');
    // Assess: the log names the entry
    const logs = output.logs();
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'WARN', batchEntryId: 'b', statusCode: 429 }),
    );
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        batchEntryId: 'c',
        errorMessage: 'secret internals: table schema mismatch',
      }),
    );
  });
});

describe('entryFailure', () => {
  it(`keeps at most ${MAX_DETAILS_PER_ENTRY} details, so 100 failed entries fit in a response`, () => {
    // Prepare
    const details = Array.from({ length: 15 }, (_, i) => ({ path: `input.${i}`, message: 'bad' }));

    // Act
    const failed = entryFailure('a', new BadRequestError('InvalidInput', 'bad input', { details }));

    // Assess
    expect(failed).toEqual({
      id: 'a',
      code: 'InvalidInput',
      message: 'bad input',
      senderFault: true,
      details: details.slice(0, MAX_DETAILS_PER_ENTRY),
    });
  });

  it.each([
    [new ConflictError('JobNameInUse', 'taken'), true, undefined],
    [new PayloadTooLargeError('too big'), true, undefined],
    [new TooManyRequestsError('QueueFull', 'full', { retryAfterSeconds: 30 }), false, 30],
    [new ServiceUnavailableError('down'), false, 2],
  ])('maps %s to senderFault %s', (error, senderFault, retryAfterSeconds) => {
    // Act
    const failed = entryFailure('a', error);

    // Assess
    expect(failed.senderFault).toBe(senderFault);
    expect(failed.code).toBe(error.code);
    expect(failed.retryAfterSeconds).toBe(retryAfterSeconds);
  });
});
