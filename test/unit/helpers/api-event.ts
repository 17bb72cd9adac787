/**
 * Test fixtures for the HTTP API functions: API Gateway HTTP API (payload 2.0,
 * IAM authorizer) events as the service sends them, and job records as the
 * store writes them to DynamoDB.
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import type { ActiveJob, JobOutcome } from '../../../core/model';
import { JobStore } from '../../../functions/shared/store';

export const USER_ARN = 'arn:aws:iam::123456789012:user/alice';
export const OTHER_USER_ARN = 'arn:aws:iam::123456789012:user/bob';

export interface ApiEventOptions {
  readonly method?: string;
  /** The path as the caller sent it, without the stage; `/jobs` by default. */
  readonly path?: string;
  /** The matched route, such as `GET /jobs/{name}`; derived from method and path by default. */
  readonly routeKey?: string;
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  /** A string is sent as is; anything else as its JSON text. */
  readonly body?: unknown;
  /** Sends the body base64-encoded, as API Gateway does for binary media. */
  readonly base64?: boolean;
  /** Extra headers, lower-case as HTTP APIs deliver them; `content-type` may be overridden. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The caller's IAM ARN; `null` builds an event with no IAM identity at all. */
  readonly userArn?: string | null;
  readonly stage?: string;
}

/** An HTTP API request with IAM authorization, shaped like the ones API Gateway delivers. */
export function apiEvent(options: ApiEventOptions = {}): APIGatewayProxyEventV2WithIAMAuthorizer {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/jobs';
  const stage = options.stage ?? '$default';
  const userArn = options.userArn === undefined ? USER_ARN : options.userArn;
  const text =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const body =
    text !== undefined && options.base64 ? Buffer.from(text, 'utf8').toString('base64') : text;
  const rawQueryString = new URLSearchParams(options.query ?? {}).toString();
  const domainName = 'abc123defg.execute-api.eu-west-1.amazonaws.com';

  const headers: Record<string, string> = {
    accept: 'application/json',
    host: domainName,
    'user-agent': 'eventjobs-tests',
    'x-forwarded-proto': 'https',
    ...(text !== undefined ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  if (text !== undefined && headers['content-length'] === undefined) {
    headers['content-length'] = String(Buffer.byteLength(text, 'utf8'));
  }

  const event: APIGatewayProxyEventV2WithIAMAuthorizer = {
    version: '2.0',
    routeKey: options.routeKey ?? `${method} ${routeOf(path)}`,
    rawPath: stage === '$default' ? path : `/${stage}${path}`,
    rawQueryString,
    headers,
    queryStringParameters: options.query ? { ...options.query } : undefined,
    pathParameters: options.pathParameters ? { ...options.pathParameters } : undefined,
    body,
    isBase64Encoded: Boolean(options.base64 && text !== undefined),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123defg',
      authorizer: {
        iam: {
          accessKey: 'ASIAEXAMPLEKEY000000',
          accountId: '123456789012',
          callerId: 'AIDAEXAMPLECALLER000',
          cognitoIdentity: null,
          principalOrgId: 'o-example0000',
          userArn: userArn ?? '',
          userId: 'AIDAEXAMPLECALLER000',
        },
      },
      domainName,
      domainPrefix: 'abc123defg',
      http: {
        method,
        path: stage === '$default' ? path : `/${stage}${path}`,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'eventjobs-tests',
      },
      requestId: 'K0aJ2gFdjoEEMxQ=',
      routeKey: options.routeKey ?? `${method} ${routeOf(path)}`,
      stage,
      time: '28/Nov/2025:10:00:00 +0000',
      timeEpoch: 1764324000000,
    },
  };
  if (userArn === null) {
    // The type says an IAM-authorized route always has an identity; the code must not trust that.
    (event.requestContext as { authorizer?: unknown }).authorizer = undefined;
  }
  return event;
}

/** `POST /jobs` with a JSON body. */
export function startJobEvent(
  body: unknown,
  options: Omit<ApiEventOptions, 'method' | 'path' | 'body'> = {},
) {
  return apiEvent({ ...options, method: 'POST', path: '/jobs', body });
}

/** `GET /jobs/{name}` or `DELETE /jobs/{name}`; the name is delivered as API Gateway decodes it. */
export function jobEvent(
  method: 'GET' | 'DELETE',
  name: string,
  options: Omit<ApiEventOptions, 'method' | 'path' | 'pathParameters'> = {},
) {
  return apiEvent({
    ...options,
    method,
    path: `/jobs/${encodeURIComponent(name)}`,
    routeKey: `${method} /jobs/{name}`,
    pathParameters: { name },
  });
}

/** `GET /jobs` with query parameters. */
export function listJobsEvent(
  query?: Readonly<Record<string, string>>,
  options: Omit<ApiEventOptions, 'method' | 'path' | 'query'> = {},
) {
  return apiEvent({ ...options, method: 'GET', path: '/jobs', query });
}

function routeOf(path: string): string {
  return path.startsWith('/jobs/') ? '/jobs/{name}' : path;
}

/** The parsed JSON body of a handler's response. */
export function bodyOf(result: { body?: string }): Record<string, unknown> {
  return JSON.parse(result.body ?? 'null') as Record<string, unknown>;
}

// ---------------------------------------------------------------------------
// Stored job records. The items are marshalled by JobStore itself, so these
// fixtures follow the table layout instead of restating it.

export function activeJob(overrides: Partial<ActiveJob> = {}): ActiveJob {
  return {
    owner: USER_ARN,
    jobName: 'nightly-report',
    runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
    type: 'echo',
    status: 'RUNNING',
    input: { value: 'hello' },
    inputHash: 'a'.repeat(64),
    createdAt: '2025-11-28T10:00:00.000Z',
    updatedAt: '2025-11-28T10:00:00.000Z',
    ...overrides,
  };
}

export function jobOutcome(overrides: Partial<JobOutcome> = {}): JobOutcome {
  return {
    owner: USER_ARN,
    jobName: 'nightly-report',
    runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
    type: 'echo',
    status: 'SUCCEEDED',
    input: { value: 'hello' },
    createdAt: '2025-11-28T10:00:00.000Z',
    startedAt: '2025-11-28T10:00:01.000Z',
    finishedAt: '2025-11-28T10:00:02.000Z',
    durationMs: 1000,
    attempt: 1,
    result: { value: 'hello' },
    // Far in the future, so the outcome is retained whatever the clock says.
    expiresAt: 4_102_444_800,
    ...overrides,
  };
}

type Item = Record<string, AttributeValue>;

/** The DynamoDB item the store writes for an active job. */
export async function activeItem(job: ActiveJob = activeJob()): Promise<Item> {
  const writes = await captureWrites((store) => store.createActive(job));
  return firstItem(writes, 'Item');
}

/** The DynamoDB item the store writes for a retained outcome. */
export async function outcomeItem(outcome: JobOutcome = jobOutcome()): Promise<Item> {
  const writes = await captureWrites((store) => store.finishRun(outcome));
  const transact = writes[0] as { TransactItems?: { Put?: { Item?: Item } }[] } | undefined;
  const item = transact?.TransactItems?.[0]?.Put?.Item;
  if (!item) throw new Error('The store wrote no outcome item');
  return item;
}

/** Runs store calls against a client that records each command's input and answers `{}`. */
async function captureWrites(act: (store: JobStore) => Promise<unknown>): Promise<unknown[]> {
  const inputs: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      inputs.push(command.input);
      return {};
    },
  };
  await act(new JobStore(client as unknown as DynamoDBClient, 'fixture-table'));
  return inputs;
}

function firstItem(inputs: unknown[], field: 'Item'): Item {
  const item = (inputs[0] as Record<string, Item | undefined> | undefined)?.[field];
  if (!item) throw new Error(`The store wrote no ${field}`);
  return item;
}
