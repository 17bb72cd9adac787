import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseListQuery } from '../../../../functions/list-jobs/service';
import { errorResponse } from '../../../../functions/shared/http';
import { signRequest } from '../../../../functions/shared/signer';
import {
  type GatewayRequest,
  HTTP_API_LIMITS,
  type HttpApiEventV2,
  LocalHttpApi,
  type RunningHttpApi,
} from '../../../../local/apigw';
import {
  type CredentialStore,
  type FunctionSpec,
  type HttpApiSpec,
  type HttpRouteSpec,
  type InvocationType,
  type InvokeResult,
  type LambdaInvoker,
  LambdaServiceError,
  type LocalCredential,
  type LocalEnv,
  type LogSink,
} from '../../../../local/contracts';

// ---------------------------------------------------------------- fakes

const ENV: LocalEnv = {
  region: 'eu-west-1',
  accountId: '123456789012',
  partition: 'aws',
  timeScale: 1,
};
const fnArn = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${name}`;
const START = fnArn('start-job');
const GET = fnArn('get-job');
const OPEN = fnArn('open');
const UNPERMITTED = fnArn('no-permission');

const ALICE: LocalCredential = {
  name: 'alice',
  accessKeyId: 'AKIALOCALALICE000001',
  secretAccessKey: 'alice/secret/key/0000000000000000000001',
  accountId: '123456789012',
  arn: 'arn:aws:iam::123456789012:user/alice',
  userId: 'AIDALOCALALICE0000001',
};
const WORKER: LocalCredential = {
  name: 'worker',
  accessKeyId: 'ASIALOCALWORKER00001',
  secretAccessKey: 'worker/secret/key/000000000000000000001',
  sessionToken: 'IQoJb3JpZ2luX2VjEPr//////////token==',
  accountId: '123456789012',
  arn: 'arn:aws:sts::123456789012:assumed-role/WorkerRole/worker',
  userId: 'AROALOCALWORKER000001:worker',
};
const credentials: CredentialStore = {
  lookup: (id) => [ALICE, WORKER].find((c) => c.accessKeyId === id),
};

type Handler = (event: HttpApiEventV2, arn: string) => InvokeResult | Promise<InvokeResult>;

/** Records every invocation and answers with what the test sets. */
class FakeLambda implements LambdaInvoker {
  readonly calls: Array<{ arn: string; event: HttpApiEventV2; type: InvocationType }> = [];
  handler: Handler = () => ok({ statusCode: 200, body: 'ok' });

  find(ref: string): FunctionSpec | undefined {
    const arn = ref.replace(/:\$LATEST$/, '');
    if (![START, GET, OPEN, UNPERMITTED].includes(arn)) return undefined;
    return {
      logicalId: arn,
      name: arn.split(':').pop() ?? arn,
      arn,
      handler: 'index.handler',
      codeDir: '/nowhere',
      runtime: 'nodejs22.x',
      timeoutSeconds: 30,
      memoryMb: 128,
      environment: {},
      logGroupName: `/aws/lambda/${arn}`,
      asyncConfig: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600 },
    };
  }

  async invoke(ref: string, payload: string, type: InvocationType): Promise<InvokeResult> {
    const event = JSON.parse(payload) as HttpApiEventV2;
    this.calls.push({ arn: ref, event, type });
    return this.handler(event, ref);
  }

  get lastEvent(): HttpApiEventV2 {
    const call = this.calls.at(-1);
    if (call === undefined) throw new Error('the function was not invoked');
    return call.event;
  }
}

function ok(value: unknown): InvokeResult {
  return { statusCode: 200, payload: JSON.stringify(value), executedVersion: '$LATEST' };
}

class MemoryLog implements LogSink {
  readonly lines: Array<{ source: string; text: string }> = [];
  line(source: string, text: string): void {
    this.lines.push({ source, text });
  }
  texts(): string[] {
    return this.lines.map((l) => l.text);
  }
}

const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  userArn: '$context.identity.userArn',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  unknown: '$context.customDomain.basePathMatched',
});

function integration(functionArn: string, timeoutMs = 30_000) {
  return {
    id: `i-${functionArn}`,
    type: 'AWS_PROXY' as const,
    functionArn,
    payloadFormatVersion: '2.0' as const,
    timeoutMs,
  };
}

function iam(routeKey: string, functionArn: string, timeoutMs?: number): HttpRouteSpec {
  return {
    id: routeKey,
    routeKey,
    authorizationType: 'AWS_IAM',
    integration: integration(functionArn, timeoutMs),
  };
}

function spec(overrides: Partial<HttpApiSpec> = {}): HttpApiSpec {
  return {
    logicalId: 'AsyncJobsApi',
    id: 'abc123defg',
    name: 'Api',
    routes: [
      iam('POST /jobs', START),
      iam('GET /jobs/{name}', GET),
      iam('GET /files/{proxy+}', GET),
      iam('GET /slow', START, 100),
      iam('GET /forbidden-fn', UNPERMITTED),
      {
        id: 'open',
        routeKey: 'ANY /open',
        authorizationType: 'NONE',
        integration: integration(OPEN),
      },
      { id: 'jwt', routeKey: 'GET /jwt', authorizationType: 'JWT', integration: integration(OPEN) },
      {
        id: 'v1',
        routeKey: 'GET /v1',
        authorizationType: 'NONE',
        integration: { ...integration(OPEN), payloadFormatVersion: '1.0' },
      },
      { id: 'bare', routeKey: 'GET /bare', authorizationType: 'NONE' },
    ],
    stage: { name: '$default', accessLogFormat: ACCESS_LOG_FORMAT },
    invokableFunctionArns: [START, GET, `${OPEN}:$LATEST`],
    ...overrides,
  };
}

function setup(options: { spec?: HttpApiSpec; clock?: () => number } = {}) {
  const lambda = new FakeLambda();
  const log = new MemoryLog();
  const api = new LocalHttpApi({
    spec: options.spec ?? spec(),
    lambda,
    credentials,
    env: ENV,
    log,
    clock: options.clock,
  });
  return { api, lambda, log };
}

const HOST = 'localhost:4510';

/** A request as a client signed with `credential` would send it. */
async function signed(
  method: string,
  target: string,
  options: {
    headers?: Record<string, string | string[]>;
    body?: string | Buffer;
    credential?: LocalCredential;
    now?: number;
    region?: string;
  } = {},
): Promise<GatewayRequest> {
  const credential = options.credential ?? ALICE;
  const plain: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    plain[name] = typeof value === 'string' ? value : value.join(',');
  }
  const added = await signRequest({
    method,
    url: `http://${HOST}${target}`,
    headers: { host: HOST, ...plain },
    body: options.body,
    credentials: credential,
    region: options.region ?? ENV.region,
    service: 'execute-api',
    now: options.now,
  });
  return {
    method,
    target,
    headers: { host: HOST, 'user-agent': 'eventjobs-tests/1.0', ...options.headers, ...added },
    body: options.body,
    sourceIp: '10.1.2.3',
    port: 4510,
  };
}

function json(response: { body: Buffer }): unknown {
  return JSON.parse(response.body.toString('utf8'));
}

function accessLog(log: MemoryLog): Record<string, unknown> {
  const line = log
    .texts()
    .filter((t) => t.startsWith('{'))
    .at(-1);
  if (line === undefined) throw new Error('no access log line');
  return JSON.parse(line) as Record<string, unknown>;
}

// ---------------------------------------------------------------- the event

describe('the payload 2.0 event', () => {
  it('carries the request as API Gateway builds it, with the caller in authorizer.iam', async () => {
    const { api, lambda } = setup();
    lambda.handler = () => ok({ statusCode: 202, body: '{}' });
    const before = Date.now();
    const response = await api.handleRequest(
      await signed('POST', '/jobs?b=2&a=1&a=x%20y&plus=a+b&flag', {
        headers: {
          'content-type': 'application/json',
          'X-Custom': ['one', 'two'],
          cookie: ['session=abc; theme=dark', 'lang=en'],
          'x-forwarded-for': '192.0.2.7',
          connection: 'keep-alive',
        },
        body: '{"type":"report"}',
      }),
    );

    expect(response.status).toBe(202);
    expect(lambda.calls).toHaveLength(1);
    expect(lambda.calls[0]).toMatchObject({ arn: START, type: 'RequestResponse' });
    const event = lambda.lastEvent;
    const requestId = response.headers['apigw-requestid'];
    expect(requestId).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(event).toEqual({
      version: '2.0',
      routeKey: 'POST /jobs',
      rawPath: '/jobs',
      rawQueryString: 'b=2&a=1&a=x%20y&plus=a+b&flag',
      cookies: ['session=abc', 'theme=dark', 'lang=en'],
      headers: {
        host: HOST,
        'user-agent': 'eventjobs-tests/1.0',
        'content-type': 'application/json',
        'x-custom': 'one,two',
        authorization: expect.stringMatching(/^AWS4-HMAC-SHA256 Credential=AKIALOCALALICE000001\//),
        'x-amz-date': expect.stringMatching(/^\d{8}T\d{6}Z$/),
        'x-forwarded-for': '192.0.2.7, 10.1.2.3',
        'x-forwarded-port': '4510',
        'x-forwarded-proto': 'http',
        'x-amzn-trace-id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
      },
      queryStringParameters: { b: '2', a: '1,x y', plus: 'a+b', flag: '' },
      requestContext: {
        accountId: '123456789012',
        apiId: 'abc123defg',
        authorizer: {
          iam: {
            accessKey: ALICE.accessKeyId,
            accountId: '123456789012',
            callerId: ALICE.userId,
            cognitoIdentity: null,
            principalOrgId: null,
            userArn: ALICE.arn,
            userId: ALICE.userId,
          },
        },
        domainName: HOST,
        domainPrefix: 'localhost',
        http: {
          method: 'POST',
          path: '/jobs',
          protocol: 'HTTP/1.1',
          sourceIp: '10.1.2.3',
          userAgent: 'eventjobs-tests/1.0',
        },
        requestId,
        routeKey: 'POST /jobs',
        stage: '$default',
        time: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
        timeEpoch: expect.any(Number),
      },
      body: '{"type":"report"}',
      isBase64Encoded: false,
    });
    expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(event.requestContext.time).toBe(
      new Date(event.requestContext.timeEpoch)
        .toUTCString()
        .replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1/$2/$3:$4 +0000'),
    );
  });

  it('leaves out what a request does not have, and authorizer on a NONE route', async () => {
    const { api, lambda } = setup();
    await api.handleRequest({ method: 'GET', target: '/open', headers: { host: HOST } });
    const event = lambda.lastEvent;
    expect(Object.keys(event).sort()).toEqual(
      [
        'headers',
        'isBase64Encoded',
        'rawPath',
        'rawQueryString',
        'requestContext',
        'routeKey',
        'version',
      ].sort(),
    );
    expect(event.isBase64Encoded).toBe(false);
    expect(event.rawQueryString).toBe('');
    expect(event.requestContext).not.toHaveProperty('authorizer');
    expect(event.requestContext.http.userAgent).toBe('');
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('decodes the path and path parameters, and passes greedy ones whole', async () => {
    const { api, lambda } = setup();
    await api.handleRequest(await signed('GET', '/jobs/a%20b%2B%C3%BC'));
    expect(lambda.lastEvent).toMatchObject({
      routeKey: 'GET /jobs/{name}',
      rawPath: '/jobs/a b+ü',
      pathParameters: { name: 'a b+ü' },
      requestContext: { http: { path: '/jobs/a b+ü' } },
    });
    await api.handleRequest(await signed('GET', '/files/2026/report%201.pdf'));
    expect(lambda.lastEvent.pathParameters).toEqual({ proxy: '2026/report 1.pdf' });
  });

  it.each([
    ['application/octet-stream', true],
    ['image/png', true],
    ['application/x-www-form-urlencoded', true],
    [undefined, true],
    ['text/plain; charset=utf-8', false],
    ['application/json', false],
  ])('sends a %s body base64-encoded: %s', async (contentType, base64) => {
    const { api, lambda } = setup();
    const body = Buffer.from('hi\u0000é', 'utf8');
    await api.handleRequest({
      method: 'POST',
      target: '/open',
      headers: { host: HOST, ...(contentType ? { 'content-type': contentType } : {}) },
      body,
    });
    expect(lambda.lastEvent.isBase64Encoded).toBe(base64);
    expect(lambda.lastEvent.body).toBe(base64 ? body.toString('base64') : body.toString('utf8'));
  });

  it.each(['application/json', 'text/plain; charset=utf-8'])(
    'sends a %s body whose bytes are not UTF-8 base64-encoded, every byte intact',
    async (contentType) => {
      // Prepare
      const { api, lambda } = setup();
      const body = Buffer.from([0x7b, 0x22, 0x61, 0xff, 0x22, 0x7d]);

      // Act
      await api.handleRequest({
        method: 'POST',
        target: '/open',
        headers: { host: HOST, 'content-type': contentType },
        body,
      });

      // Assess
      expect(lambda.lastEvent.isBase64Encoded).toBe(true);
      expect(Buffer.from(lambda.lastEvent.body ?? '', 'base64')).toEqual(body);
    },
  );
});

describe('request data named like Object members', () => {
  it('passes headers and path parameters named __proto__ or constructor on', async () => {
    // Prepare
    const { api, lambda } = setup({
      spec: spec({ routes: [iam('GET /things/{__proto__}/{constructor}', GET)] }),
    });
    const request = await signed('GET', '/things/a/b');
    const headers = Object.fromEntries([
      ...Object.entries(request.headers),
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);

    // Act
    const response = await api.handleRequest({ ...request, headers });

    // Assess
    expect(response.status).toBe(200);
    const event = lambda.lastEvent;
    expect(Object.entries(event.pathParameters ?? {})).toEqual([
      ['__proto__', 'a'],
      ['constructor', 'b'],
    ]);
    expect(Object.entries(event.headers)).toEqual(
      expect.arrayContaining([
        ['__proto__', 'x'],
        ['constructor', 'y'],
      ]),
    );
  });

  it('signs an X-AMZ-SIGNATURE query parameter of a header-signed request: 403 when left out', async () => {
    // Prepare: signRequest signs with the AWS SDK's signer, which leaves any
    // x-amz-signature parameter out; AWS signs every parameter of such a request.
    const { api, lambda } = setup();

    // Act
    const plain = await api.handleRequest(await signed('GET', '/jobs/a?page=1'));
    const extra = await api.handleRequest(await signed('GET', '/jobs/a?X-AMZ-SIGNATURE=x&page=1'));

    // Assess
    expect(plain.status).toBe(200);
    expect(extra.status).toBe(403);
    expect(extra.headers['x-amzn-errortype']).toBe('InvalidSignatureException');
    expect(lambda.calls).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- routing and auth

describe('routing and IAM authorization', () => {
  it('answers 404 when no route matches, before checking any signature', async () => {
    const { api, lambda } = setup();
    for (const request of [
      { method: 'GET', target: '/nothing', headers: { host: HOST } },
      { method: 'DELETE', target: '/jobs', headers: { host: HOST } },
      { method: 'GET', target: '/jobs/', headers: { host: HOST } },
    ]) {
      const response = await api.handleRequest(request);
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toBe('application/json');
      expect(json(response)).toEqual({ message: 'Not Found' });
    }
    expect(lambda.calls).toHaveLength(0);
  });

  it('answers an unsigned request to an AWS_IAM route with Forbidden', async () => {
    const { api, lambda } = setup();
    const response = await api.handleRequest({
      method: 'POST',
      target: '/jobs',
      headers: { host: HOST },
      body: '{}',
    });
    expect(response.status).toBe(403);
    expect(json(response)).toEqual({ message: 'Forbidden' });
    expect(response.headers['x-amzn-errortype']).toBe('ForbiddenException');
    expect(lambda.calls).toHaveLength(0);
  });

  it.each([
    [
      'a bearer token',
      (): GatewayRequest => ({
        method: 'POST',
        target: '/jobs',
        headers: { host: HOST, authorization: 'Bearer abc.def.ghi' },
        body: '{}',
      }),
      "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer abc.def.ghi",
    ],
    [
      'an unknown access key',
      () =>
        signed('POST', '/jobs', {
          body: '{}',
          credential: { ...ALICE, accessKeyId: 'AKIAUNKNOWN000000000' },
        }),
      'The security token included in the request is invalid.',
    ],
    [
      'a session credential without its token',
      () =>
        signed('POST', '/jobs', { body: '{}', credential: { ...WORKER, sessionToken: undefined } }),
      'The security token included in the request is invalid',
    ],
    [
      'a signature two days old',
      () => signed('POST', '/jobs', { body: '{}', now: Date.now() - 2 * 86_400_000 }),
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    ],
    [
      'another region',
      () => signed('POST', '/jobs', { body: '{}', region: 'us-east-1' }),
      "Credential should be scoped to a valid region, not 'us-east-1'. ",
    ],
  ])('answers %s with 403 and AWS text', async (_name, make, message) => {
    const { api, lambda, log } = setup();
    const response = await api.handleRequest(await make());
    expect(response.status).toBe(403);
    const body = json(response) as { message: string };
    if (typeof message === 'string') expect(body.message).toBe(message);
    else expect(body.message).toMatch(message);
    expect(lambda.calls).toHaveLength(0);
    expect(accessLog(log)).toMatchObject({
      status: '403',
      authorizerError: body.message,
      userArn: '-',
    });
  });

  it('answers a tampered body or path with the signature-mismatch text', async () => {
    const { api } = setup();
    const good = await signed('POST', '/jobs', { body: '{"type":"a"}' });
    for (const bad of [
      { ...good, body: '{"type":"b"}' },
      { ...good, target: '/jobs?x=1' },
    ]) {
      const response = await api.handleRequest(bad);
      expect(response.status).toBe(403);
      expect(response.headers['x-amzn-errortype']).toBe('InvalidSignatureException');
      expect((json(response) as { message: string }).message).toMatch(
        /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\./,
      );
    }
  });

  it('lets a role session with its token through and names it', async () => {
    const { api, lambda } = setup();
    const response = await api.handleRequest(
      await signed('GET', '/jobs/report-1', { credential: WORKER }),
    );
    expect(response.status).toBe(200);
    expect(lambda.lastEvent.requestContext.authorizer?.iam).toMatchObject({
      accessKey: WORKER.accessKeyId,
      userArn: WORKER.arn,
      userId: WORKER.userId,
      callerId: WORKER.userId,
    });
  });

  it('answers 500 for JWT authorizers and payload format 1.0, and lists them as unsupported', async () => {
    const { api, lambda, log } = setup();
    for (const target of ['/jwt', '/v1']) {
      const response = await api.handleRequest({ method: 'GET', target, headers: { host: HOST } });
      expect(response.status).toBe(500);
      expect(json(response)).toEqual({ message: 'Internal Server Error' });
    }
    expect(lambda.calls).toHaveLength(0);
    expect(api.unsupportedFeatures).toEqual(
      expect.arrayContaining([
        expect.stringContaining("Route 'GET /jwt' uses a JWT authorizer"),
        expect.stringContaining("Route 'GET /v1' uses payload format 1.0"),
        expect.stringContaining('IAM policies are not evaluated'),
      ]),
    );
    expect(log.texts()).toEqual(
      expect.arrayContaining([expect.stringContaining('JWT authorizers are not emulated')]),
    );
  });

  it('answers 404 for a route without an integration, and warns about it', async () => {
    const { api } = setup();
    const response = await api.handleRequest({
      method: 'GET',
      target: '/bare',
      headers: { host: HOST },
    });
    expect(response.status).toBe(404);
    expect(api.warnings).toEqual(
      expect.arrayContaining([expect.stringContaining("Route 'GET /bare' has no integration")]),
    );
  });

  it('answers 400 for a path with a broken escape', async () => {
    const { api } = setup();
    for (const target of ['/jobs/%zz', '/jobs/%', '/jobs/%C3%28']) {
      const response = await api.handleRequest({ method: 'GET', target, headers: { host: HOST } });
      expect(response.status, target).toBe(400);
      expect(json(response)).toEqual({ message: 'Bad Request' });
    }
  });

  it('serves a named stage under its path prefix', async () => {
    const { api, lambda } = setup({ spec: spec({ stage: { name: 'prod' } }) });
    expect(
      (await api.handleRequest({ method: 'GET', target: '/open', headers: { host: HOST } })).status,
    ).toBe(404);
    const response = await api.handleRequest({
      method: 'GET',
      target: '/prod/open',
      headers: { host: HOST },
    });
    expect(response.status).toBe(200);
    expect(lambda.lastEvent).toMatchObject({
      rawPath: '/prod/open',
      routeKey: 'ANY /open',
      requestContext: { stage: 'prod' },
    });
    // The signature covers the path as sent, stage prefix included.
    expect((await api.handleRequest(await signed('GET', '/prod/jobs/x'))).status).toBe(200);
  });
});

// ---------------------------------------------------------------- integration

describe('the Lambda integration', () => {
  it('sends a structured result as given: status, headers, cookies, base64 body', async () => {
    const { api, lambda } = setup();
    lambda.handler = () =>
      ok({
        statusCode: 201,
        headers: { 'Content-Type': 'image/png', 'x-request': 'r1' },
        cookies: ['a=1; HttpOnly', 'b=2'],
        body: Buffer.from([137, 80, 78, 71]).toString('base64'),
        isBase64Encoded: true,
      });
    const response = await api.handleRequest({
      method: 'GET',
      target: '/open',
      headers: { host: HOST },
    });
    expect(response.status).toBe(201);
    expect(response.headers).toMatchObject({
      'content-type': 'image/png',
      'x-request': 'r1',
      'set-cookie': ['a=1; HttpOnly', 'b=2'],
      'apigw-requestid': expect.any(String),
    });
    expect(response.body).toEqual(Buffer.from([137, 80, 78, 71]));
  });

  it('sends any other JSON as a 200 application/json body', async () => {
    const { api, lambda } = setup();
    for (const value of [{ message: 'hi' }, 'Hello from Lambda!', 7]) {
      lambda.handler = () => ok(value);
      const response = await api.handleRequest({
        method: 'GET',
        target: '/open',
        headers: { host: HOST },
      });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.body.toString()).toBe(JSON.stringify(value));
    }
  });

  it('answers 500 for a function error, a malformed result or a Lambda service error', async () => {
    const { api, lambda, log } = setup();
    const outcomes: Handler[] = [
      () => ({
        statusCode: 200,
        payload: JSON.stringify({ errorType: 'TypeError', errorMessage: 'boom', trace: [] }),
        functionError: 'Unhandled',
        executedVersion: '$LATEST',
      }),
      () => ok({ statusCode: '200', body: 'x' }),
      () => ok({ statusCode: 200, body: { not: 'a string' } }),
      () => {
        throw new LambdaServiceError(429, 'TooManyRequestsException', 'Rate Exceeded.');
      },
      () => {
        throw new Error('the runtime fell over');
      },
    ];
    for (const handler of outcomes) {
      lambda.handler = handler;
      const response = await api.handleRequest({
        method: 'GET',
        target: '/open',
        headers: { host: HOST },
      });
      expect(response.status).toBe(500);
      expect(json(response)).toEqual({ message: 'Internal Server Error' });
    }
    const errors = log
      .texts()
      .filter((t) => t.startsWith('{'))
      .map((t) => (JSON.parse(t) as { integrationError: string }).integrationError);
    expect(errors).toEqual([
      'The Lambda function returned the following error: TypeError: boom. Check your Lambda function code and try again.',
      `The response from the Lambda function doesn't match the format that API Gateway expects. Lambda body contains the wrong type for field "statusCode"`,
      `The response from the Lambda function doesn't match the format that API Gateway expects. Lambda body contains the wrong type for field "body"`,
      'TooManyRequestsException: Rate Exceeded.',
      'Error: the runtime fell over',
    ]);
  });

  it('answers 503 when the function outlasts the integration timeout, without waiting for it', async () => {
    const { api, lambda, log } = setup();
    let finish: (result: InvokeResult) => void = () => undefined;
    lambda.handler = () => new Promise<InvokeResult>((resolve) => (finish = resolve));
    const response = await api.handleRequest(await signed('GET', '/slow'));
    expect(response.status).toBe(503);
    expect(json(response)).toEqual({ message: 'Service Unavailable' });
    expect(log.texts()).toEqual(
      expect.arrayContaining([expect.stringMatching(/integration timeout of 100 ms/)]),
    );

    finish(ok({ statusCode: 200 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.texts()).toEqual(
      expect.arrayContaining([expect.stringMatching(/finished after its 503 was sent/)]),
    );
  });

  it('answers 500 when no Lambda permission lets the API invoke the function, and says why', async () => {
    const { api, lambda, log } = setup();
    const response = await api.handleRequest(await signed('GET', '/forbidden-fn'));
    expect(response.status).toBe(500);
    expect(lambda.calls).toHaveLength(0);
    expect(log.texts()).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          `no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke ${UNPERMITTED}`,
        ),
      ]),
    );
    expect(accessLog(log).integrationError).toBe(
      "The IAM role configured on the integration or API Gateway doesn't have permissions to call the integration. Check the permissions and try again.",
    );
    expect(api.warnings).toEqual(expect.arrayContaining([expect.stringContaining(UNPERMITTED)]));
  });
});

// ---------------------------------------------------------------- limits, throttling, logs

describe('limits and throttling', () => {
  it('takes a body of exactly 10 MB and answers 413 past it', async () => {
    const { api, lambda } = setup();
    const limit = HTTP_API_LIMITS.maxBodyBytes;
    const atLimit = await api.handleRequest({
      method: 'POST',
      target: '/open',
      headers: { host: HOST, 'content-type': 'text/plain' },
      body: Buffer.alloc(limit, 0x61),
    });
    expect(atLimit.status).toBe(200);
    expect(lambda.lastEvent.body).toHaveLength(limit);

    const over = await api.handleRequest({
      method: 'POST',
      target: '/open',
      headers: { host: HOST, 'content-type': 'text/plain' },
      body: Buffer.alloc(limit + 1, 0x61),
    });
    expect(over.status).toBe(413);
    expect(json(over)).toEqual({ message: 'Request Entity Too Large' });
    expect(lambda.calls).toHaveLength(1);
  });

  it('answers 431 when the request line and header values pass 10240 bytes', async () => {
    const { api, lambda } = setup();
    const lineAndHost = Buffer.byteLength(`GET /open HTTP/1.1${HOST}`);
    const fits = {
      method: 'GET',
      target: '/open',
      headers: { host: HOST, 'x-big': 'x'.repeat(10_240 - lineAndHost) },
    };
    expect((await api.handleRequest(fits)).status).toBe(200);
    const over = {
      ...fits,
      headers: { ...fits.headers, 'x-big': 'x'.repeat(10_241 - lineAndHost) },
    };
    const response = await api.handleRequest(over);
    expect(response.status).toBe(431);
    expect(json(response)).toEqual({ message: 'HTTP header is larger than 10240 bytes.' });
    expect(lambda.calls).toHaveLength(1);
  });

  it('throttles each route with the stage token bucket', async () => {
    let now = Date.now();
    const { api } = setup({
      spec: spec({ stage: { name: '$default', throttling: { rateLimit: 1, burstLimit: 2 } } }),
      clock: () => now,
    });
    const get = () =>
      api.handleRequest({ method: 'GET', target: '/open', headers: { host: HOST } });
    expect([(await get()).status, (await get()).status]).toEqual([200, 200]);
    const throttled = await get();
    expect(throttled.status).toBe(429);
    expect(json(throttled)).toEqual({ message: 'Too Many Requests' });
    // Another route has a bucket of its own.
    expect((await api.handleRequest(await signed('GET', '/jobs/a', { now }))).status).toBe(200);
    now += 1_000;
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(429);
  });

  it('writes one access log line per request in the stage format, unknown variables as -', async () => {
    const { api, log } = setup();
    const response = await api.handleRequest(await signed('GET', '/jobs/report-1'));
    const entries = log.lines.filter((l) => l.text.startsWith('{'));
    expect(entries).toHaveLength(1);
    expect(entries[0]?.source).toBe('apigw:Api');
    expect(accessLog(log)).toEqual({
      requestId: response.headers['apigw-requestid'],
      requestTime: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
      httpMethod: 'GET',
      path: '/jobs/report-1',
      routeKey: 'GET /jobs/{name}',
      status: '200',
      protocol: 'HTTP/1.1',
      responseLength: '2',
      responseLatency: expect.stringMatching(/^\d+$/),
      sourceIp: '10.1.2.3',
      userAgent: 'eventjobs-tests/1.0',
      userArn: ALICE.arn,
      integrationStatus: '200',
      integrationError: '-',
      authorizerError: '-',
      unknown: '-',
    });
  });

  it('writes no access log when the stage has no format', async () => {
    const { api, log } = setup({ spec: spec({ stage: { name: '$default' } }) });
    await api.handleRequest({ method: 'GET', target: '/open', headers: { host: HOST } });
    expect(log.lines).toHaveLength(0);
  });
});

// ---------------------------------------------------------------- over the network

const run = promisify(execFile);

describe('over a real socket', () => {
  let server: RunningHttpApi | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(options: { spec?: HttpApiSpec } = {}) {
    const ctx = setup(options);
    server = await ctx.api.listen(0);
    return { ...ctx, server };
  }

  async function signedFetch(
    url: string,
    init: { method: string; body?: string; headers?: Record<string, string> },
  ) {
    const headers = await signRequest({
      method: init.method,
      url,
      headers: init.headers,
      body: init.body,
      credentials: ALICE,
      region: ENV.region,
      service: 'execute-api',
    });
    return fetch(url, {
      method: init.method,
      body: init.body,
      headers: { ...init.headers, ...headers },
    });
  }

  it('serves a request signed with signRequest and sent with fetch', async () => {
    const { lambda, server } = await start();
    lambda.handler = (event) =>
      ok({
        statusCode: 202,
        headers: { 'content-type': 'application/json' },
        cookies: ['a=1', 'b=2'],
        body: JSON.stringify({
          path: event.rawPath,
          caller: event.requestContext.authorizer?.iam.userArn,
        }),
      });
    const response = await signedFetch(`${server.url}/jobs?x=1%202`, {
      method: 'POST',
      body: '{"type":"report"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ path: '/jobs', caller: ALICE.arn });
    expect(response.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(lambda.lastEvent.requestContext.http.sourceIp).toBe('127.0.0.1');
    expect(lambda.lastEvent.headers['x-forwarded-port']).toBe(String(server.port));
    expect(lambda.lastEvent.headers).not.toHaveProperty('connection');
    expect(lambda.lastEvent.queryStringParameters).toEqual({ x: '1 2' });
  });

  it('passes on a header named __proto__ instead of failing the request', async () => {
    // Prepare: written by hand, as fetch drops such a header.
    const { lambda, server } = await start();
    const host = new URL(server.url).host;
    const added = await signRequest({
      method: 'GET',
      url: `${server.url}/jobs/a`,
      credentials: ALICE,
      region: ENV.region,
      service: 'execute-api',
    });
    const lines = Object.entries({ host, ...added }).map(([name, value]) => `${name}: ${value}`);

    // Act
    const answer = await raw(
      server.port,
      ['GET /jobs/a HTTP/1.1', ...lines, '__proto__: x', 'connection: close', '', ''].join('\r\n'),
    );

    // Assess
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(Object.entries(lambda.lastEvent.headers)).toContainEqual(['__proto__', 'x']);
  });

  it('serves a request signed by curl --aws-sigv4, and refuses a wrong key', async () => {
    const { lambda, server } = await start();
    lambda.handler = (event) => ok({ user: event.requestContext.authorizer?.iam.userArn });
    const curl = async (user: string) => {
      const { stdout } = await run('curl', [
        '-s',
        '-w',
        '\n%{http_code}',
        '--aws-sigv4',
        `aws:amz:${ENV.region}:execute-api`,
        '--user',
        user,
        '-H',
        'content-type: application/json',
        '--data',
        '{"type":"report"}',
        `${server.url}/jobs`,
      ]);
      const at = stdout.lastIndexOf('\n');
      return {
        status: Number(stdout.slice(at + 1)),
        body: JSON.parse(stdout.slice(0, at)) as unknown,
      };
    };
    expect(await curl(`${ALICE.accessKeyId}:${ALICE.secretAccessKey}`)).toEqual({
      status: 200,
      body: { user: ALICE.arn },
    });
    const refused = await curl(`${ALICE.accessKeyId}:not-the-secret`);
    expect(refused.status).toBe(403);
    expect((refused.body as { message: string }).message).toMatch(
      /^The request signature we calculated/,
    );
    expect(lambda.calls).toHaveLength(1);
  });

  it('passes a __proto__ query parameter on, and list-jobs answers 400 InvalidQuery', async () => {
    // Prepare: the list route, its function reading the query as list-jobs does.
    const { lambda, server } = await start({ spec: spec({ routes: [iam('GET /jobs', GET)] }) });
    lambda.handler = (event) => {
      try {
        parseListQuery(event.queryStringParameters);
        return ok({ statusCode: 200, body: '[]' });
      } catch (error) {
        return ok(errorResponse(error));
      }
    };

    // Act: curl signs every query parameter, as AWS reads them. (The AWS SDK's
    // signer cannot sign a parameter named __proto__: its canonical query
    // becomes `[object Object]`.)
    const { stdout } = await run('curl', [
      '-s',
      '-w',
      '\n%{http_code}',
      '--aws-sigv4',
      `aws:amz:${ENV.region}:execute-api`,
      '--user',
      `${ALICE.accessKeyId}:${ALICE.secretAccessKey}`,
      `${server.url}/jobs?__proto__=1&limit=5`,
    ]);

    // Assess
    const at = stdout.lastIndexOf('\n');
    expect(Object.entries(lambda.lastEvent.queryStringParameters ?? {})).toEqual([
      ['__proto__', '1'],
      ['limit', '5'],
    ]);
    expect(Number(stdout.slice(at + 1))).toBe(400);
    expect(JSON.parse(stdout.slice(0, at))).toMatchObject({ error: { code: 'InvalidQuery' } });
  });

  /** Sends raw bytes and returns what the server answers before closing. */
  function raw(
    port: number,
    data: string | Buffer,
    options: { destroyAfterWrite?: boolean } = {},
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
      socket.write(data, () => {
        if (options.destroyAfterWrite) socket.destroy();
      });
    });
  }

  it('answers oversized headers with 431, whether node or the gateway notices first', async () => {
    const { server } = await start();
    const gateway = await fetch(`${server.url}/open`, { headers: { 'x-big': 'x'.repeat(12_000) } });
    expect(gateway.status).toBe(431);
    expect(await gateway.json()).toEqual({ message: 'HTTP header is larger than 10240 bytes.' });

    const huge = await raw(
      server.port,
      `GET /open HTTP/1.1\r\nhost: localhost\r\nx-huge: ${'x'.repeat(100_000)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(huge).toContain('{"message":"HTTP header is larger than 10240 bytes."}');
    expect((await fetch(`${server.url}/open`)).status).toBe(200);
  });

  it('answers a body past 10 MB with 413', async () => {
    const { server, lambda } = await start();
    const response = await fetch(`${server.url}/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(HTTP_API_LIMITS.maxBodyBytes + 1),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(lambda.calls).toHaveLength(0);
  });

  it('survives malformed requests, bad escapes and clients that hang up', async () => {
    const { server, lambda } = await start();
    expect(await raw(server.port, 'THIS IS NOT HTTP\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(
      await raw(server.port, 'GET /jobs/%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'),
    ).toMatch(/^HTTP\/1\.1 400 [\s\S]*\{"message":"Bad Request"\}$/);
    await raw(
      server.port,
      'POST /open HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nonly part of the body',
      { destroyAfterWrite: true },
    );
    const after = await fetch(`${server.url}/open?after=1`);
    expect(after.status).toBe(200);
    expect(lambda.calls.map((c) => c.event.rawQueryString)).toEqual(['after=1']);
  });
});
