import {
  ThrottlingException as DynamoDBThrottlingException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { ThrottlingException as EventBridgeThrottlingException } from '@aws-sdk/client-eventbridge';
import { ServiceException, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  AppError,
  BadRequestError,
  ConflictError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
} from '../../../../core/errors';
import {
  apiHandler,
  errorResponse,
  jobNameParam,
  readJsonBody,
  statusUrl,
} from '../../../../functions/shared/http';
import { apiEvent, bodyOf, jobEvent, startJobEvent } from '../../helpers/api-event';
import { capturePowertoolsOutput, type PowertoolsOutput } from '../../helpers/powertools-output';

let output: PowertoolsOutput;

beforeEach(() => {
  output = capturePowertoolsOutput();
});

describe('readJsonBody', () => {
  it('parses a JSON body, plain or base64-encoded', () => {
    // Act & Assess
    expect(readJsonBody(startJobEvent({ a: 'ü' }), 100)).toEqual({ a: 'ü' });
    expect(readJsonBody(startJobEvent({ a: 'ü' }, { base64: true }), 100)).toEqual({ a: 'ü' });
  });

  it('accepts a body without a content type', () => {
    // Prepare
    const event = startJobEvent('{}');
    delete event.headers['content-type'];

    // Act & Assess
    expect(readJsonBody(event, 100)).toEqual({});
  });

  it('refuses a body over the limit in UTF-8 bytes, before parsing it', () => {
    // Act
    const act = () => readJsonBody(startJobEvent('"éé"'), 5);

    // Assess
    expect(act).toThrow(PayloadTooLargeError);
  });

  it('refuses a non-JSON content type with 415', () => {
    // Act
    const act = () =>
      readJsonBody(startJobEvent('{}', { headers: { 'content-type': 'text/json' } }), 100);

    // Assess
    expect(act).toThrow(UnsupportedMediaTypeError);
  });

  it('refuses an empty body and bad JSON with 400, keeping the parse error as the cause', () => {
    // Act & Assess
    expect(() => readJsonBody(startJobEvent(''), 100)).toThrow(
      expect.objectContaining({ code: 'InvalidBody' }),
    );
    try {
      readJsonBody(startJobEvent('{'), 100);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).cause).toBeInstanceOf(SyntaxError);
    }
  });
});

describe('readJsonBody: bytes that are not UTF-8', () => {
  /** A base64 body of exactly these bytes, as API Gateway passes a body it treats as binary. */
  function rawBody(bytes: Buffer) {
    return { ...startJobEvent('{}'), body: bytes.toString('base64'), isBase64Encoded: true };
  }

  it.each([
    [
      'a lone continuation byte',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d]),
    ],
    [
      'a truncated sequence',
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3]), Buffer.from('"}')]),
    ],
    [
      'an overlong encoding of "/"',
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
    ],
    [
      'an encoded surrogate',
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
    ],
    ['Latin-1 text', Buffer.from('{"name":"Müller"}', 'latin1')],
  ])('refuses %s with 400 InvalidJson, never replacing it with U+FFFD', (_name, bytes) => {
    // Act
    const act = () => readJsonBody(rawBody(bytes), 100);

    // Assess
    expect(act).toThrow(
      expect.objectContaining({
        statusCode: 400,
        code: 'InvalidJson',
        message: 'The request body is not valid UTF-8; JSON must be encoded in UTF-8',
        cause: expect.any(TypeError),
      }),
    );
  });

  it('still accepts every valid UTF-8 sequence, from one byte to four', () => {
    // Prepare
    const value = { a: 'x', b: 'é', c: '€', d: '😀' };

    // Act
    const parsed = readJsonBody(rawBody(Buffer.from(JSON.stringify(value), 'utf8')), 100);

    // Assess
    expect(parsed).toEqual(value);
  });

  it('keeps a byte order mark, which is not JSON, as a text body would', () => {
    // Prepare
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]);

    // Act
    const act = () => readJsonBody(rawBody(bytes), 100);

    // Assess
    expect(act).toThrow(
      expect.objectContaining({ code: 'InvalidJson', cause: expect.any(SyntaxError) }),
    );
  });

  it('refuses an oversized base64 body by its bytes, before decoding it', () => {
    // Act
    const act = () => readJsonBody(rawBody(Buffer.alloc(200, 0xff)), 100);

    // Assess
    expect(act).toThrow(PayloadTooLargeError);
  });
});

describe('jobNameParam', () => {
  it('returns a valid name and refuses an invalid one', () => {
    // Act & Assess
    expect(jobNameParam(jobEvent('GET', 'ok-name'))).toBe('ok-name');
    expect(() => jobNameParam(jobEvent('GET', '..'))).toThrow(
      expect.objectContaining({ statusCode: 400, code: 'InvalidJobName' }),
    );
  });
});

describe('statusUrl', () => {
  it('is the job path on the $default stage, and the full URL on the API domain', () => {
    // Act
    const url = statusUrl(apiEvent(), 'job.1');

    // Assess
    expect(url).toEqual({
      path: '/jobs/job.1',
      url: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/jobs/job.1',
    });
  });

  it('includes a named stage and honours x-forwarded-proto', () => {
    // Act
    const url = statusUrl(
      apiEvent({ stage: 'dev', headers: { 'x-forwarded-proto': 'http, https' } }),
      'j',
    );

    // Assess
    expect(url).toEqual({
      path: '/dev/jobs/j',
      url: 'http://abc123defg.execute-api.eu-west-1.amazonaws.com/dev/jobs/j',
    });
  });
});

describe('errorResponse and apiHandler', () => {
  it('maps an HttpError to its status and JSON body, with details and extra fields', () => {
    // Prepare
    const error = new ConflictError('JobNameInUse', 'taken', { extra: { job: { jobName: 'x' } } });

    // Act
    const result = errorResponse(error);

    // Assess
    expect(result.statusCode).toBe(409);
    expect(result.headers).toEqual({ 'content-type': 'application/json' });
    expect(bodyOf(result)).toEqual({
      error: { code: 'JobNameInUse', message: 'taken' },
      job: { jobName: 'x' },
    });
    expect(
      bodyOf(
        errorResponse(new BadRequestError('X', 'y', { details: [{ path: 'a', message: 'b' }] })),
      ),
    ).toEqual({ error: { code: 'X', message: 'y', details: [{ path: 'a', message: 'b' }] } });
  });

  it('sends Retry-After in whole seconds for a 429 or 503 that carries it', () => {
    // Prepare
    const queueFull = new TooManyRequestsError('QueueFull', 'Your queue is full', {
      retryAfterSeconds: 30,
    });
    const unavailable = new ServiceUnavailableError(
      'The job could not be started; try again later',
    );

    // Act
    const results = [errorResponse(queueFull), errorResponse(unavailable)];

    // Assess
    expect(results[0]?.statusCode).toBe(429);
    expect(results[0]?.headers).toEqual({
      'content-type': 'application/json',
      'retry-after': '30',
    });
    expect(bodyOf(results[0] ?? {})).toEqual({
      error: { code: 'QueueFull', message: 'Your queue is full' },
    });
    expect(results[1]?.statusCode).toBe(503);
    expect(results[1]?.headers).toEqual({ 'content-type': 'application/json', 'retry-after': '2' });
    expect(bodyOf(results[1] ?? {})).toEqual({
      error: {
        code: 'ServiceUnavailable',
        message: 'The job could not be started; try again later',
      },
    });
  });

  it('turns anything else into a generic 500 and logs it, never sending its message or stack', async () => {
    // Prepare
    const handler = apiHandler(async () => {
      throw new TypeError('Cannot read properties of undefined (secret)');
    });

    // Act
    const result = await handler(apiEvent());

    // Assess
    expect(result.statusCode).toBe(500);
    expect(bodyOf(result)).toEqual({
      error: { code: 'InternalError', message: 'An internal error occurred' },
    });
    expect(result.body).not.toContain('secret');
    expect(result.body).not.toContain('TypeError');
    expect(output.logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'Unhandled error',
        errorName: 'TypeError',
        errorMessage: 'Cannot read properties of undefined (secret)',
      }),
    ]);
  });
});

/** A service error as the SDK throws it, for services whose classes are not imported here. */
function serviceError(
  name: string,
  fields: { status?: number; fault?: 'client' | 'server'; retryable?: { throttling: boolean } },
) {
  return Object.assign(new Error(`${name} from the service`), {
    name,
    $fault: fields.fault ?? 'client',
    $metadata: fields.status === undefined ? {} : { httpStatusCode: fields.status },
    ...(fields.retryable ? { $retryable: fields.retryable } : {}),
  });
}

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe('errorResponse: throttling and outages of a dependency', () => {
  it.each([
    [
      'DynamoDB ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({ message: 'Rate exceeded', ...meta(400) }),
    ],
    [
      'DynamoDB ThrottlingException',
      new DynamoDBThrottlingException({ message: 'Throughput exceeds the limit', ...meta(400) }),
    ],
    [
      'DynamoDB RequestLimitExceeded',
      new RequestLimitExceeded({ message: 'Account throughput limit', ...meta(400) }),
    ],
    [
      'Lambda TooManyRequestsException',
      new TooManyRequestsException({ message: 'Rate Exceeded.', ...meta(429) }),
    ],
    [
      'EventBridge ThrottlingException',
      new EventBridgeThrottlingException({ message: 'Rate exceeded', ...meta(400) }),
    ],
    [
      'any error with $retryable.throttling',
      serviceError('SlowDownPlease', { status: 400, retryable: { throttling: true } }),
    ],
    ['any error with HTTP status 429', serviceError('SomethingBusy', { status: 429 })],
    [
      'a DynamoDB transaction cancelled for throttling and conflicts only',
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        ...meta(400),
        CancellationReasons: [
          { Code: 'None' },
          { Code: 'ThrottlingError' },
          { Code: 'TransactionConflict' },
        ],
      }),
    ],
    [
      'a throttle wrapped as the cause of another error',
      new AppError('Could not claim a slot', {
        cause: new ProvisionedThroughputExceededException({
          message: 'Rate exceeded',
          ...meta(400),
        }),
      }),
    ],
  ])('maps %s to 429 Throttled with Retry-After', (_name, error) => {
    // Act
    const result = errorResponse(error);

    // Assess
    expect(result.statusCode).toBe(429);
    expect(result.headers).toEqual({ 'content-type': 'application/json', 'retry-after': '1' });
    expect(bodyOf(result)).toEqual({
      error: {
        code: 'Throttled',
        message: 'The service is busy (a request it depends on was throttled); try again shortly',
      },
    });
    expect(output.logs()).toEqual([
      expect.objectContaining({ level: 'WARN', statusCode: 429, errorName: expect.any(String) }),
    ]);
  });

  it.each([
    [
      'DynamoDB InternalServerError',
      new InternalServerError({ message: 'Internal server error', ...meta(500) }),
    ],
    ['Lambda ServiceException', new ServiceException({ message: 'Service error', ...meta(500) })],
    ['a 502 from the service', serviceError('BadGatewayish', { status: 502, fault: 'server' })],
    [
      'a 503 ServiceUnavailable',
      serviceError('ServiceUnavailable', { status: 503, fault: 'server' }),
    ],
    [
      'a ServiceUnavailableException without a status',
      serviceError('ServiceUnavailableException', {}),
    ],
    ['an SDK request timeout', serviceError('TimeoutError', {})],
    ['a connection reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('maps %s to 503 ServiceUnavailable with Retry-After', (_name, error) => {
    // Act
    const result = errorResponse(error);

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.headers).toEqual({ 'content-type': 'application/json', 'retry-after': '2' });
    expect(bodyOf(result)).toEqual({
      error: {
        code: 'ServiceUnavailable',
        message: 'A service this request depends on is unavailable for now; try again shortly',
      },
    });
  });

  it.each([
    ['a validation error of the service', serviceError('ValidationException', { status: 400 })],
    [
      'a transaction cancelled by a failed condition',
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        ...meta(400),
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'TransactionConflict' }],
      }),
    ],
    ['a thrown string', 'ProvisionedThroughputExceededException'],
    ['a thrown null', null],
  ])('leaves %s a 500 InternalError', (_name, error) => {
    // Act
    const result = errorResponse(error);

    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.headers).toEqual({ 'content-type': 'application/json' });
  });

  it("never reclassifies the thrower's own HttpError, whatever its cause", () => {
    // Prepare
    const error = new BadRequestError('InvalidCallback', 'nope', {
      cause: new TooManyRequestsException({ message: 'Rate Exceeded.', ...meta(429) }),
    });

    // Act
    const result = errorResponse(error);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(result.headers).toEqual({ 'content-type': 'application/json' });
  });

  it('answers a throttled dependency through apiHandler as 429, not 500', async () => {
    // Prepare
    const handler = apiHandler(async () => {
      throw new TooManyRequestsException({ message: 'Rate Exceeded.', ...meta(429) });
    });

    // Act
    const result = await handler(apiEvent());

    // Assess
    expect(result.statusCode).toBe(429);
    expect(result.headers?.['retry-after']).toBe('1');
  });
});
