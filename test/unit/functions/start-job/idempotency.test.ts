/**
 * A repeated POST /jobs is the same start only when its input is the same
 * JSON: the comparison must tell apart every two inputs that parse
 * differently, `__proto__` keys included.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiHandler } from '../../../../functions/shared/http';
import { bodyOf, startJobEvent } from '../../helpers/api-event';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../helpers/lambda-endpoint';

// A job type that takes any JSON as it is, as an app's own type may: the
// built-in types' schemas refuse or rebuild objects before the input is compared.
vi.mock('@eventjobs/app-jobs', async () => {
  const { defineJobType } = await import('../../../../core/job-type');
  const z = await import('zod/mini');
  return {
    anything: defineJobType({
      name: 'anything',
      description: 'Takes any JSON input.',
      input: z.unknown(),
      async run(input) {
        return input;
      },
    }),
  };
});

const ddb = mockClient(DynamoDBClient);
let lambda: LambdaEndpoint;
let handler: ApiHandler;

beforeAll(async () => {
  lambda = await startLambdaEndpoint();
  vi.resetModules();
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  vi.stubEnv('EVENT_BUS_NAME', 'eventjobs-bus');
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
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
});

afterEach(() => {
  ddb.reset();
  lambda.reset();
});

/**
 * DynamoDB as it behaves for one name: the first put claims it, and every
 * later one fails its condition, returning the first put's item.
 */
function tableWithOneName(): void {
  let stored: PutItemCommandInput['Item'];
  ddb.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
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
}

/** A start request whose body is exactly this JSON text. */
function start(input: string) {
  return startJobEvent(`{"type":"anything","name":"proto-job","input":${input}}`);
}

describe('POST /jobs: a repeated name with another input', () => {
  it('answers 409 JobNameInUse for inputs that differ only under a __proto__ key', async () => {
    // Prepare
    tableWithOneName();

    // Act
    const first = await handler(start('{"__proto__":{"a":1}}'));
    const second = await handler(start('{"__proto__":{"b":2}}'));

    // Assess
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(409);
    expect(bodyOf(second)).toMatchObject({ error: { code: 'JobNameInUse' } });
    expect(lambda.received).toHaveLength(1);
  });

  it('answers 409 for a __proto__ key against an input without it', async () => {
    // Prepare
    tableWithOneName();

    // Act
    const first = await handler(start('{}'));
    const second = await handler(start('{"__proto__":{}}'));

    // Assess
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(409);
  });

  it('still answers 200 with the same run for the very same input', async () => {
    // Prepare
    tableWithOneName();

    // Act
    const first = await handler(start('{"__proto__":{"a":1},"z":[1]}'));
    const second = await handler(start('{"z":[1],"__proto__":{"a":1}}'));

    // Assess
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(200);
    expect(bodyOf(second)).toMatchObject({ runId: bodyOf(first).runId });
  });
});

describe('POST /jobs: numbers JSON cannot hold', () => {
  it('answers 400 InvalidInput to 1e400 in an input any schema accepts, and stores nothing', async () => {
    // Prepare
    tableWithOneName();

    // Act: 1e400 parses as Infinity, which JSON.stringify would store as null.
    const result = await handler(start('{"big":[1,-1e400]}'));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidInput' } });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(lambda.received).toHaveLength(0);
  });
});
