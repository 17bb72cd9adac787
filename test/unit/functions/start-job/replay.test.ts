/**
 * POST /jobs/{name}/replay through the start-job handler, on the local cloud's
 * DynamoDB (real conditions): a finished job starts again with what its
 * outcome recorded, through the same start as POST /jobs; a running job is a
 * 409, a job the caller has no outcome of a 404, and a bad body a 400 that
 * changes nothing.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { workerPayloadSchema } from '../../../../core/event-schemas';
import type { JobOutcome } from '../../../../core/model';
import type { ApiHandler } from '../../../../functions/shared/http';
import { JobStore } from '../../../../functions/shared/store';
import { outcomeToItem } from '../../../../functions/shared/store-items';
import { parseReplayRequest, replayStartBody } from '../../../../functions/start-job/replay';
import {
  activeJob,
  apiEvent,
  bodyOf,
  jobOutcome,
  OTHER_USER_ARN,
  USER_ARN,
} from '../../helpers/api-event';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../helpers/lambda-endpoint';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const SOURCE_RUN = '01JDXR3Y5Q6Z8A9B0C1D2E3F4G';

let table: LocalTable;
let lambda: LambdaEndpoint;
let handler: ApiHandler;
let store: JobStore;
let test = 0;
/** A caller of this test's own, so no job carries over between tests. */
let caller: string;

beforeAll(async () => {
  table = await startLocalJobsTable();
  lambda = await startLambdaEndpoint();
  const endpoint = await table.client.config.endpoint?.();
  if (!endpoint) throw new Error('The local table has no endpoint');
  vi.resetModules();
  vi.stubEnv('JOBS_TABLE_NAME', table.tableName);
  vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  vi.stubEnv('MAX_INPUT_BYTES', '');
  // Callbacks to http://127.0.0.1 are allowed on the local cloud only: the replayed one is such.
  vi.stubEnv('AWS_LOCAL_CLOUD', 'true');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUNITTEST00000000');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit-test-secret');
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', `http://${endpoint.hostname}:${endpoint.port}`);
  ({ handler } = await import('../../../../functions/start-job/handler'));
  store = new JobStore(table.client, table.tableName);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await lambda.close();
  await table.close();
});

beforeEach(() => {
  test += 1;
  caller = `${USER_ARN}-${test}`;
  lambda.reset();
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** `POST /jobs/{name}/replay` as API Gateway delivers it; `body` undefined sends none. */
function replay(name: string, body?: unknown, userArn = caller) {
  return handler(
    apiEvent({
      method: 'POST',
      path: `/jobs/${encodeURIComponent(name)}/replay`,
      routeKey: 'POST /jobs/{name}/replay',
      pathParameters: { name },
      body,
      userArn,
    }),
  );
}

/** A finished run of the caller's, as completion records it. */
async function finished(overrides: Partial<JobOutcome> = {}): Promise<JobOutcome> {
  const outcome = jobOutcome({
    owner: caller,
    jobName: 'report',
    runId: SOURCE_RUN,
    type: 'fail',
    status: 'FAILED',
    input: { message: 'disk full' },
    result: undefined,
    error: { name: 'Error', message: 'disk full' },
    ...overrides,
  });
  await table.client.send(
    new PutItemCommand({ TableName: table.tableName, Item: outcomeToItem(outcome) }),
  );
  return outcome;
}

describe('POST /jobs/{name}/replay', () => {
  it('starts a FAILED job again under the given name, with its type, input, timeout and callback', async () => {
    // Prepare
    await finished({ timeoutSeconds: 42, callbackUrl: 'http://127.0.0.1:9/hook' });

    // Act
    const result = await replay('report', { name: 'report-again' });

    // Assess: the answer of a POST /jobs
    expect(result.statusCode).toBe(202);
    expect(result.headers?.location).toBe('/jobs/report-again');
    const body = bodyOf(result);
    expect(body).toEqual({
      jobName: 'report-again',
      runId: expect.stringMatching(ULID),
      status: 'RUNNING',
      statusUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/jobs/report-again',
    });
    // Assess: the new run, which records the run it replays
    expect(await store.getActive(caller, 'report-again')).toMatchObject({
      runId: body.runId,
      type: 'fail',
      status: 'RUNNING',
      input: { message: 'disk full' },
      timeoutSeconds: 42,
      callbackUrl: 'http://127.0.0.1:9/hook',
      startedBy: { kind: 'replay', jobName: 'report', runId: SOURCE_RUN },
    });
    // Assess: handed to the worker, as a start is
    expect(lambda.received).toHaveLength(1);
    const payload = workerPayloadSchema.parse(JSON.parse(lambda.received[0]?.body ?? 'null'));
    expect(payload).toMatchObject({ owner: caller, jobName: 'report-again', runId: body.runId });
  });

  it('names the new run as POST /jobs names an unnamed job (a ULID) when the body is empty or {}', async () => {
    // Prepare
    await finished({ type: 'echo', status: 'SUCCEEDED', input: { value: 1 }, error: undefined });

    // Act
    const withoutBody = bodyOf(await replay('report'));
    const withEmptyObject = bodyOf(await replay('report', {}));

    // Assess
    for (const started of [withoutBody, withEmptyObject]) {
      expect(started).toMatchObject({ jobName: expect.stringMatching(ULID), status: 'RUNNING' });
      expect(await store.getActive(caller, String(started.jobName))).toMatchObject({
        type: 'echo',
        input: { value: 1 },
        startedBy: { kind: 'replay', jobName: 'report', runId: SOURCE_RUN },
      });
    }
    expect(withoutBody.jobName).not.toBe(withEmptyObject.jobName);
  });

  it("may reuse the job's own name, and a repeat of that request answers 200 with the same run", async () => {
    // Prepare
    await finished();

    // Act
    const first = await replay('report', { name: 'report' });
    const again = await replay('report', { name: 'report' });

    // Assess
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(200);
    expect(bodyOf(again)).toMatchObject({ jobName: 'report', runId: bodyOf(first).runId });
    expect(lambda.received).toHaveLength(2);
  });

  it('refuses a job that is still running or queued with 409 JobStillRunning and the job', async () => {
    // Prepare: an earlier run finished, and a later one of the same name runs now
    await finished();
    await store.createActive(activeJob({ owner: caller, jobName: 'report', runId: 'R2' }));
    await store.createActive(
      activeJob({ owner: caller, jobName: 'waiting', runId: 'R3', status: 'QUEUED' }),
    );

    // Act
    const running = await replay('report', { name: 'other' });
    const queued = await replay('waiting');

    // Assess
    expect(running.statusCode).toBe(409);
    expect(bodyOf(running)).toMatchObject({
      error: { code: 'JobStillRunning', message: expect.stringContaining('RUNNING') },
      job: { jobName: 'report', runId: 'R2', status: 'RUNNING' },
    });
    expect(queued.statusCode).toBe(409);
    expect(bodyOf(queued)).toMatchObject({ error: { code: 'JobStillRunning' } });
    expect(await store.getActive(caller, 'other')).toBeUndefined();
    expect(lambda.received).toHaveLength(0);
  });

  it("answers 404 for a name never used, an expired outcome and another owner's job", async () => {
    // Prepare
    await finished();
    await finished({ jobName: 'old', expiresAt: Math.floor(Date.now() / 1000) - 60 });

    // Act
    const unknown = await replay('never-ran');
    const expired = await replay('old');
    const someoneElses = await replay('report', undefined, OTHER_USER_ARN);

    // Assess
    for (const result of [unknown, expired, someoneElses]) {
      expect(result.statusCode).toBe(404);
      expect(bodyOf(result)).toEqual({
        error: { code: 'NotFound', message: expect.stringMatching(/\S/) },
      });
    }
    expect(lambda.received).toHaveLength(0);
  });

  it('refuses a bad body with a 400 that starts nothing', async () => {
    // Prepare
    await finished();
    const cases: Array<[unknown, string]> = [
      [{ name: 'x', input: { message: 'other' } }, 'InvalidBody'],
      [{ name: 7 }, 'InvalidBody'],
      [[], 'InvalidBody'],
      ['null', 'InvalidBody'],
      ['{"name":', 'InvalidJson'],
      [{ name: '..' }, 'InvalidJobName'],
      [{ name: 'has space' }, 'InvalidJobName'],
    ];

    for (const [body, code] of cases) {
      // Act
      const result = await replay('report', body);

      // Assess
      expect(result.statusCode, JSON.stringify(body)).toBe(400);
      expect(bodyOf(result), JSON.stringify(body)).toMatchObject({ error: { code } });
    }
    expect(lambda.received).toHaveLength(0);
  });

  it('refuses a name in the path that is not a job name with 400 InvalidJobName', async () => {
    // Act
    const result = await replay('a'.repeat(129));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJobName' } });
  });

  it('answers 409 JobNameInUse when the given name has another job running', async () => {
    // Prepare
    await finished();
    await store.createActive(activeJob({ owner: caller, jobName: 'busy', runId: 'R9' }));

    // Act
    const result = await replay('report', { name: 'busy' });

    // Assess
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'JobNameInUse' },
      job: { jobName: 'busy', runId: 'R9' },
    });
  });
});

describe('parseReplayRequest', () => {
  it('takes {} or a job name, and nothing else', () => {
    expect(parseReplayRequest({})).toEqual({});
    expect(parseReplayRequest({ name: 'a.b-c_1' })).toEqual({ name: 'a.b-c_1' });
    expect(() => parseReplayRequest({ name: 'a', extra: true })).toThrow(
      expect.objectContaining({ statusCode: 400, code: 'InvalidBody' }),
    );
    expect(() => parseReplayRequest(null)).toThrow(
      expect.objectContaining({ code: 'InvalidBody' }),
    );
  });
});

describe('replayStartBody', () => {
  it('is the POST /jobs body of the outcome: timeout and callback only where they were given', () => {
    // Prepare
    const bare = jobOutcome({ type: 'echo', input: { value: 2 } });
    const full = jobOutcome({ timeoutSeconds: 5, callbackUrl: 'https://example.com/hook' });

    // Act / Assess
    expect(replayStartBody(bare, undefined)).toEqual({ type: 'echo', input: { value: 2 } });
    expect(replayStartBody(full, 'n1')).toEqual({
      type: 'echo',
      name: 'n1',
      input: { value: 'hello' },
      timeoutSeconds: 5,
      callback: { url: 'https://example.com/hook' },
    });
  });
});
