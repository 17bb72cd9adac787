/**
 * The one AWS endpoint of the local cloud, over real HTTP: which service a
 * request reaches, what that service is given, and the errors the endpoint
 * answers with itself.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Authenticate, AwsEndpoint } from '../../../local/aws-endpoint';
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  Caller,
  LogSink,
} from '../../../local/contracts';

const ALICE: Caller = {
  accessKeyId: 'AKIALOCALALICE000001',
  accountId: '123456789012',
  arn: 'arn:aws:iam::123456789012:user/alice',
  userId: 'AIDAALICE',
};

/** A service that records what it is given and, unless told otherwise, answers with its name. */
class FakeService implements AwsService {
  readonly requests: AwsRequest[] = [];
  constructor(
    readonly signingNames: readonly string[],
    private readonly answer?: (request: AwsRequest) => Promise<AwsResponse>,
  ) {}
  async handle(request: AwsRequest): Promise<AwsResponse> {
    this.requests.push(request);
    if (this.answer) return this.answer(request);
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: this.signingNames[0] };
  }
}

class RecordingLog implements LogSink {
  readonly lines: string[] = [];
  line(source: string, text: string): void {
    this.lines.push(`${source}: ${text}`);
  }
}

const authorization = (service: string) =>
  `AWS4-HMAC-SHA256 Credential=${ALICE.accessKeyId}/20260101/eu-west-1/${service}/aws4_request, ` +
  'SignedHeaders=host;x-amz-date, Signature=0123456789abcdef';

const running: AwsEndpoint[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((endpoint) => endpoint.close()));
});

async function start(
  services: readonly AwsService[],
  authenticate: Authenticate = () => ({ ok: true, caller: ALICE }),
) {
  const log = new RecordingLog();
  const endpoint = new AwsEndpoint(authenticate, log);
  for (const service of services) endpoint.register(service);
  const url = await endpoint.listen(0);
  running.push(endpoint);
  return { url, log };
}

/** Sends an HTTP request as written, header lines and all (fetch would merge repeated headers). */
function rawRequest(url: string, headerLines: readonly string[], body = '{}'): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.end(
        [
          'POST /raw HTTP/1.1',
          `Host: ${hostname}:${port}`,
          'Connection: close',
          `Content-Length: ${Buffer.byteLength(body)}`,
          ...headerLines,
          '',
          body,
        ].join('\r\n'),
      );
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

describe('routing', () => {
  it('routes by the service of the SigV4 credential scope, before any x-amz-target', async () => {
    // prepare
    const sqs = new FakeService(['sqs']);
    const dynamodb = new FakeService(['dynamodb']);
    const { url } = await start([sqs, dynamodb]);

    // act
    const response = await fetch(`${url}/`, {
      method: 'POST',
      headers: { authorization: authorization('sqs'), 'x-amz-target': 'DynamoDB_20120810.PutItem' },
      body: '{}',
    });

    // assess
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('sqs');
    expect(dynamodb.requests).toHaveLength(0);
  });

  it('routes a service under each of its signing names', async () => {
    // prepare
    const events = new FakeService(['events', 'eventbridge']);
    const { url } = await start([events]);

    // act
    const statuses = await Promise.all(
      ['events', 'eventbridge'].map(async (name) => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { authorization: authorization(name) },
        });
        return response.status;
      }),
    );

    // assess
    expect(statuses).toEqual([200, 200]);
    expect(events.requests).toHaveLength(2);
  });

  it.each([
    ['DynamoDB_20120810.GetItem', 'dynamodb'],
    ['AWSEvents.PutEvents', 'events'],
    ['AmazonSQS.SendMessage', 'sqs'],
  ])('routes an unsigned request with x-amz-target %s to %s', async (target, expected) => {
    // prepare
    const services = ['dynamodb', 'events', 'sqs', 'lambda'].map((n) => new FakeService([n]));
    const { url } = await start(services);

    // act
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'x-amz-target': target },
      body: '{}',
    });

    // assess
    expect(await response.text()).toBe(expected);
  });

  it('routes an unsigned request on the Lambda API path to lambda', async () => {
    // prepare
    const services = ['dynamodb', 'events', 'sqs', 'lambda'].map((n) => new FakeService([n]));
    const { url } = await start(services);

    // act
    const response = await fetch(`${url}/2015-03-31/functions/worker/invocations`, {
      method: 'POST',
      body: '{}',
    });

    // assess
    expect(await response.text()).toBe('lambda');
  });

  it('answers 400 UnknownOperationException for a service it does not emulate', async () => {
    // prepare
    const sqs = new FakeService(['sqs']);
    const { url } = await start([sqs]);

    // act
    const signed = await fetch(url, { headers: { authorization: authorization('s3') } });
    const unsigned = await fetch(`${url}/some/path`);

    // assess
    expect(signed.status).toBe(400);
    expect(signed.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await signed.json()).toEqual({
      __type: 'UnknownOperationException',
      message: expect.stringContaining('"s3"'),
    });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ __type: 'UnknownOperationException' });
    expect(sqs.requests).toHaveLength(0);
  });
});

describe('authentication', () => {
  it('passes a failed authentication through as status, code and message', async () => {
    // prepare
    const sqs = new FakeService(['sqs']);
    const { url } = await start([sqs], () => ({
      ok: false,
      status: 403,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    }));

    // act
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: authorization('sqs') },
    });

    // assess
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('InvalidClientTokenId');
    expect(await response.json()).toEqual({
      __type: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    });
    expect(sqs.requests).toHaveLength(0);
  });

  it('authenticates with the raw request, and hands the caller to the service', async () => {
    // prepare
    const seen: Parameters<Authenticate>[0][] = [];
    const lambda = new FakeService(['lambda']);
    const { url } = await start([lambda], (request) => {
      seen.push(request);
      return { ok: true, caller: ALICE };
    });

    // act
    await fetch(`${url}/2015-03-31/functions/my%20fn/invocations?Qualifier=%24LATEST`, {
      method: 'POST',
      headers: { authorization: authorization('lambda') },
      body: '{"a":1}',
    });

    // assess
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      rawPath: '/2015-03-31/functions/my%20fn/invocations',
      rawQuery: 'Qualifier=%24LATEST',
    });
    expect(seen[0]?.body.toString('utf8')).toBe('{"a":1}');
    expect(lambda.requests[0]?.caller).toEqual(ALICE);
  });
});

describe('the request a service is given', () => {
  it('has path, parsed query, body and the operation of x-amz-target', async () => {
    // prepare
    const dynamodb = new FakeService(['dynamodb']);
    const { url } = await start([dynamodb]);

    // act
    await fetch(`${url}/a%2Fb?x=1&y=two%20words`, {
      method: 'POST',
      headers: {
        authorization: authorization('dynamodb'),
        'x-amz-target': 'DynamoDB_20120810.TransactWriteItems',
      },
      body: '{"TableName":"jobs"}',
    });

    // assess
    const [request] = dynamodb.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/a%2Fb');
    expect(Object.fromEntries(request?.query ?? [])).toEqual({ x: '1', y: 'two words' });
    expect(request?.body.toString('utf8')).toBe('{"TableName":"jobs"}');
    expect(request?.operation).toBe('TransactWriteItems');
  });

  it('has no operation when there is no x-amz-target', async () => {
    // prepare
    const lambda = new FakeService(['lambda']);
    const { url } = await start([lambda]);

    // act
    await fetch(`${url}/2015-03-31/functions/f/invocations`, { method: 'POST' });

    // assess
    expect(lambda.requests[0]?.operation).toBeUndefined();
  });

  it('has lower-case header names, with repeated headers joined by commas', async () => {
    // prepare
    const sqs = new FakeService(['sqs']);
    const { url } = await start([sqs]);

    // act
    const response = await rawRequest(url, [
      `Authorization: ${authorization('sqs')}`,
      'X-Amz-Meta-Tag: first',
      'x-amz-meta-tag: second',
      'X-Amz-Date: 20260101T000000Z',
    ]);

    // assess
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    const headers = sqs.requests[0]?.headers ?? {};
    expect(headers['x-amz-meta-tag']).toBe('first,second');
    expect(headers['x-amz-date']).toBe('20260101T000000Z');
    expect(headers.authorization).toBe(authorization('sqs'));
    expect(Object.keys(headers).filter((name) => name !== name.toLowerCase())).toEqual([]);
  });

  it('keeps headers named like Object members as they came', async () => {
    // prepare
    const sqs = new FakeService(['sqs']);
    const { url } = await start([sqs]);

    // act
    const response = await rawRequest(url, [
      `Authorization: ${authorization('sqs')}`,
      'Constructor: a',
      '__proto__: b',
      'toString: c',
    ]);

    // assess
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    const headers = sqs.requests[0]?.headers ?? {};
    expect(Object.entries(headers)).toEqual(
      expect.arrayContaining([
        ['constructor', 'a'],
        ['__proto__', 'b'],
        ['tostring', 'c'],
      ]),
    );
  });
});

describe('errors the endpoint answers itself', () => {
  it('answers 413 for a body over 16 MB, without calling the service', async () => {
    // prepare
    const sqs = new FakeService(['sqs']);
    const { url } = await start([sqs]);

    // act
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: authorization('sqs') },
      body: Buffer.alloc(16 * 1024 * 1024 + 1, 0x61),
    });

    // assess
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ __type: 'RequestEntityTooLargeException' });
    expect(sqs.requests).toHaveLength(0);
  });

  it('takes a body of exactly 16 MB', async () => {
    // prepare
    const sqs = new FakeService(['sqs']);
    const { url } = await start([sqs]);

    // act
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: authorization('sqs') },
      body: Buffer.alloc(16 * 1024 * 1024, 0x61),
    });

    // assess
    expect(response.status).toBe(200);
    expect(sqs.requests[0]?.body.length).toBe(16 * 1024 * 1024);
  });

  it('answers 500 InternalFailure when a service throws, logs it and keeps serving', async () => {
    // prepare
    let calls = 0;
    const flaky = new FakeService(['sqs'], async () => {
      calls += 1;
      if (calls === 1) throw new Error('queue store exploded');
      return { status: 200, body: 'recovered' };
    });
    const { url, log } = await start([flaky]);
    const send = () =>
      fetch(url, { method: 'POST', headers: { authorization: authorization('sqs') } });

    // act
    const failed = await send();
    const next = await send();

    // assess
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ __type: 'InternalFailure' });
    expect(log.lines.join('\n')).toContain('queue store exploded');
    expect(next.status).toBe(200);
    expect(await next.text()).toBe('recovered');
  });

  it("sends the service's own status, headers and body", async () => {
    // prepare
    const sqs = new FakeService(['sqs'], async () => ({
      status: 404,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'req-1' },
      body: Buffer.from('{"__type":"QueueDoesNotExist"}'),
    }));
    const { url } = await start([sqs]);

    // act
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: authorization('sqs') },
    });

    // assess
    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-requestid')).toBe('req-1');
    expect(await response.json()).toEqual({ __type: 'QueueDoesNotExist' });
  });
});

describe('listen and close', () => {
  it('listens on the given host and a free port, and stops answering once closed', async () => {
    // prepare
    const log = new RecordingLog();
    const endpoint = new AwsEndpoint(() => ({ ok: true, caller: ALICE }), log);
    endpoint.register(new FakeService(['sqs']));

    // act
    const url = await endpoint.listen(0);
    const before = await fetch(url, { headers: { authorization: authorization('sqs') } });
    await endpoint.close();
    const after = fetch(url, { headers: { authorization: authorization('sqs') } });

    // assess
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(before.status).toBe(200);
    await expect(after).rejects.toThrow();
  });
});
