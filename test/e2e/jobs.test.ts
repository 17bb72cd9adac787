/**
 * The whole system over HTTP: signed requests to the API, the worker, the
 * completion event through EventBridge, and the table, exactly as deployed.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ACTIVE_SORT_KEY, jobPartitionKey } from '../../core/table';
import { type ApiResponse, callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

interface JobBody {
  jobName: string;
  runId: string;
  status: string;
  progress?: { percent: number; message?: string };
  result?: unknown;
  error?: { name: string; message: string };
  finishedAt?: string;
  durationMs?: number;
  attempt?: number;
}

const asJob = (response: ApiResponse) => response.body as JobBody;

async function getJob(name: string, who = target.alice): Promise<ApiResponse> {
  return callApi(target, who, 'GET', `/jobs/${name}`);
}

async function waitForStatus(name: string, status: string, timeoutMs = 30_000): Promise<JobBody> {
  return eventually(
    `${name} to be ${status}`,
    async () => {
      const response = await getJob(name);
      return response.status === 200 && asJob(response).status === status
        ? asJob(response)
        : undefined;
    },
    timeoutMs,
  );
}

async function activeRecordExists(owner: string, name: string): Promise<boolean> {
  const dynamodb = new DynamoDBClient({
    region: target.region,
    endpoint: target.awsEndpoint,
    credentials: target.tableReader,
  });
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: target.tableName,
      Key: { pk: { S: jobPartitionKey(owner, name) }, sk: { S: ACTIVE_SORT_KEY } },
      ConsistentRead: true,
    }),
  );
  dynamodb.destroy();
  return Item !== undefined;
}

describe('a sleep job, start to finish', () => {
  const name = uniqueName('sleep');
  let started: ApiResponse;

  beforeAll(async () => {
    started = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'sleep',
      name,
      input: { seconds: 2 },
    });
  });

  it('1. answers POST /jobs with 202, a Location and the run', () => {
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/jobs/${name}`);
    expect(started.body).toMatchObject({ jobName: name, status: 'RUNNING' });
    expect(asJob(started).runId).toMatch(/^[0-9A-Z]{26}$/);
  });

  it('2. shows RUNNING with progress while the worker runs', async () => {
    const running = await eventually('progress on the running job', async () => {
      const job = asJob(await getJob(name));
      return job.status === 'RUNNING' && job.progress ? job : undefined;
    });
    expect(running.progress?.percent).toBeGreaterThan(0);
    expect(running.progress?.percent).toBeLessThan(100);
    expect(running.runId).toBe(asJob(started).runId);
  });

  it('3. processes the Job Completed event into a retained outcome', async () => {
    const done = await waitForStatus(name, 'SUCCEEDED');
    expect(done.runId).toBe(asJob(started).runId);
    expect(done.finishedAt).toEqual(expect.any(String));
    expect(done.durationMs).toBeGreaterThanOrEqual(2000);
  });

  it('4. shows SUCCEEDED with the result, and the active record is gone from the table', async () => {
    const done = await waitForStatus(name, 'SUCCEEDED');
    expect(done.result).toEqual({ sleptSeconds: 2 });
    expect(await activeRecordExists(target.alice.owner, name)).toBe(false);
  });
});

describe('failures', () => {
  it('5. a fail job ends FAILED with its error', async () => {
    const name = uniqueName('fail');
    const started = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'fail',
      name,
      input: { message: 'the disk is full' },
    });
    expect(started.status).toBe(202);

    const failed = await waitForStatus(name, 'FAILED');

    expect(failed.error).toEqual({ name: 'Error', message: 'the disk is full' });
    expect(await activeRecordExists(target.alice.owner, name)).toBe(false);
  });

  it('6. a worker that runs past its Lambda timeout ends FAILED through the failure destination', async () => {
    const name = uniqueName('hang');
    const started = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'fail',
      name,
      input: { message: 'never reached', hangSeconds: target.workerTimeoutSeconds * 3 },
    });
    expect(started.status).toBe(202);

    // The job blocks its event loop, so only Lambda's timeout stops it. The e2e stack has no
    // Lambda-level retries, so the OnFailure destination puts the failure record on the bus
    // at once and rule B routes it to completion.
    const failed = await waitForStatus(name, 'FAILED', 45_000);

    expect(failed.error?.name).toBe('WorkerTimeout');
    expect(failed.error?.message).toMatch(/timed out/i);
    expect(await activeRecordExists(target.alice.owner, name)).toBe(false);
  }, 60_000);
});

describe('the API contract', () => {
  it('7. a running name started again with another input gets 409 with the active job', async () => {
    const name = uniqueName('dup');
    const first = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'sleep',
      name,
      input: { seconds: 2 },
    });
    expect(first.status).toBe(202);

    const again = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'sleep',
      name,
      input: { seconds: 1 },
    });

    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      error: { code: 'JobNameInUse' },
      job: { jobName: name, runId: asJob(first).runId, status: 'RUNNING' },
    });
  });

  it('8. an unsigned request gets 403, and so does a wrongly signed one', async () => {
    const unsigned = await callApi(target, 'unsigned', 'POST', '/jobs', {
      type: 'echo',
      input: { value: 1 },
    });
    expect(unsigned.status).toBe(403);
    // AWS's own answer; the local cloud adds a hint of where the signing keys are.
    expect(unsigned.body).toEqual({
      message: 'Forbidden',
      ...(target.kind === 'local' ? { localHint: expect.stringMatching(/SigV4/) } : {}),
    });

    const badSecret = await callApi(
      target,
      { ...target.alice, secretAccessKey: `${target.alice.secretAccessKey}x` },
      'GET',
      '/jobs',
    );
    expect(badSecret.status).toBe(403);
    expect(JSON.stringify(badSecret.body)).toMatch(/signature/i);
  });

  it('9. another identity can neither see, list nor cancel the job', async () => {
    const name = uniqueName('private');
    const started = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'sleep',
      name,
      input: { seconds: 2 },
    });
    expect(started.status).toBe(202);

    const seen = await getJob(name, target.bob);
    const listed = await callApi(target, target.bob, 'GET', '/jobs?limit=100');
    const cancelled = await callApi(target, target.bob, 'DELETE', `/jobs/${name}`);

    expect(seen.status).toBe(404);
    expect(listed.status).toBe(200);
    const names = (listed.body as { jobs: { jobName: string }[] }).jobs.map((j) => j.jobName);
    expect(names).not.toContain(name);
    expect(cancelled.status).toBe(404);
    expect((await getJob(name, target.alice)).status).toBe(200);
  });

  it('10. an unknown route gets 404', async () => {
    const unknownPath = await callApi(target, target.alice, 'GET', '/nothing-here');
    const unknownMethod = await callApi(target, target.alice, 'PUT', '/jobs');

    expect(unknownPath.status).toBe(404);
    expect(unknownPath.body).toEqual({ message: 'Not Found' });
    expect(unknownMethod.status).toBe(404);
  });
});
