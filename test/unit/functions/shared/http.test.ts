import { beforeEach, describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  PayloadTooLargeError,
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
