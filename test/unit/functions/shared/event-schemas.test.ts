/**
 * The rules of the schemas at the functions' boundaries that the rest of the
 * code relies on: what each event detail may leave out, what it refuses, and
 * the messages a caller or a log line gets (zod's, in English).
 */
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../../core/errors';
import {
  jobCancelledDetailSchema,
  jobFailedDetailSchema,
  jobProgressDetailSchema,
  jobStartedDetailSchema,
  jobTimedOutDetailSchema,
  lambdaFailureDetailSchema,
  workerPayloadSchema,
} from '../../../../core/event-schemas';
import type { StandardSchemaV1 } from '../../../../core/standard-schema';
import { validate } from '../../../../functions/shared/validate';
import { parseStartRequest } from '../../../../functions/start-job/service';
import { jobEventSchema, subscribeRequestSchema } from '../../../../functions/stream/messages';

/** The issues of a failed check as `path: message` lines, or `ok`. */
function issuesOf(schema: StandardSchemaV1, value: unknown): string[] | 'ok' {
  const result = validate(schema, value);
  return result.success
    ? 'ok'
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const run = {
  owner: 'arn:aws:iam::123456789012:user/alice',
  jobName: 'nightly-report',
  runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
  type: 'echo',
};
const AT = '2026-01-05T10:00:00.000Z';

describe('event details', () => {
  it('Job Started: refuses an attempt below 1, a fraction, and a time without a zone', () => {
    // Prepare
    const detail = { ...run, attempt: 0, startedAt: '2026-01-05T10:00:00' };

    // Act & Assess
    expect(issuesOf(jobStartedDetailSchema, detail)).toEqual([
      'attempt: Too small: expected number to be >=1',
      'startedAt: Invalid ISO datetime',
    ]);
    expect(issuesOf(jobStartedDetailSchema, { ...run, attempt: 1.5, startedAt: AT })).toEqual([
      'attempt: Invalid input: expected int, received number',
    ]);
  });

  it('Job Started: keeps only the keys it names, and accepts an offset time', () => {
    // Prepare
    const detail = { ...run, attempt: 1, startedAt: '2026-01-05T10:00:00+02:00', extra: 1 };

    // Act
    const result = validate(jobStartedDetailSchema, detail);

    // Assess
    expect(result).toEqual({
      success: true,
      data: { ...run, attempt: 1, startedAt: '2026-01-05T10:00:00+02:00' },
    });
  });

  it('Job Progress: a percent from 0 to 100', () => {
    // Prepare
    const detail = { ...run, attempt: 1, at: AT };

    // Act & Assess
    expect(issuesOf(jobProgressDetailSchema, { ...detail, percent: 100 })).toBe('ok');
    expect(issuesOf(jobProgressDetailSchema, { ...detail, percent: 100.5 })).toEqual([
      'percent: Too big: expected number to be <=100',
    ]);
    expect(issuesOf(jobProgressDetailSchema, { ...detail, percent: -1 })).toEqual([
      'percent: Too small: expected number to be >=0',
    ]);
  });

  it('Job Failed: attempt, start and duration may be absent (a run the worker never ran)', () => {
    // Prepare
    const detail = {
      ...run,
      finishedAt: AT,
      error: { name: 'WorkerFailed', message: 'The worker invocation failed' },
      reportedBy: 'completion',
    };

    // Act
    const result = validate(jobFailedDetailSchema, detail);

    // Assess
    expect(result).toEqual({ success: true, data: detail });
    expect(Object.keys(result.success ? result.data : {})).not.toContain('attempt');
  });

  it('Job Failed: names where an attempt error is wrong, and who may report it', () => {
    // Prepare
    const detail = {
      ...run,
      attempt: 2,
      startedAt: AT,
      finishedAt: AT,
      durationMs: 10,
      error: { name: 'Error', message: 'boom' },
      reportedBy: 'sweeper',
      attempts: [{ attempt: 1, error: { name: 'Error' }, at: AT }],
    };

    // Act & Assess
    expect(issuesOf(jobFailedDetailSchema, detail)).toEqual([
      'reportedBy: Invalid option: expected one of "worker"|"completion"',
      'attempts.0.error.message: Invalid input: expected string, received undefined',
    ]);
  });

  it.each([
    ['Job Cancelled', jobCancelledDetailSchema],
    ['Job Timed Out', jobTimedOutDetailSchema],
  ])(
    '%s: from the sweeper, without attempt, start or duration; a reason is required',
    (_, schema) => {
      // Prepare
      const detail = { ...run, finishedAt: AT, reportedBy: 'sweeper' };

      // Act & Assess
      expect(issuesOf(schema, { ...detail, reason: 'The worker never started' })).toBe('ok');
      expect(issuesOf(schema, detail)).toEqual([
        'reason: Invalid input: expected string, received undefined',
      ]);
      expect(issuesOf(schema, { ...detail, reason: 'x', reportedBy: 'completion' })).toEqual([
        'reportedBy: Invalid option: expected one of "worker"|"sweeper"|"api"',
      ]);
    },
  );

  it('every detail refuses a job name that is not one', () => {
    // Prepare
    const detail = { ...run, jobName: '..', attempt: 1, startedAt: AT };

    // Act & Assess
    expect(issuesOf(jobStartedDetailSchema, detail)).toEqual([
      'jobName: must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots',
    ]);
  });
});

describe('payloads', () => {
  it('the worker payload may leave the input out, as before', () => {
    // Prepare
    const payload = { ...run, submittedAt: AT };

    // Act & Assess
    expect(validate(workerPayloadSchema, payload)).toEqual({ success: true, data: payload });
  });

  it("Lambda's failure record: the response parts are optional, the request context is not", () => {
    // Prepare
    const record = {
      version: '1.0',
      timestamp: '2026-01-05T10:00:00.000Z',
      requestContext: {
        requestId: 'r-1',
        functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:worker:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: { ...run, input: {}, submittedAt: AT },
    };

    // Act & Assess
    expect(issuesOf(lambdaFailureDetailSchema, record)).toBe('ok');
    expect(
      issuesOf(lambdaFailureDetailSchema, {
        ...record,
        requestContext: { ...record.requestContext, approximateInvokeCount: '3' },
      }),
    ).toEqual([
      'requestContext.approximateInvokeCount: Invalid input: expected number, received string',
    ]);
  });
});

describe('stream messages', () => {
  const event = {
    version: '0',
    id: 'e-1',
    'detail-type': 'Job Completed',
    source: 'eventjobs',
    account: '123456789012',
    time: AT,
    region: 'us-east-1',
    resources: [],
    detail: { ...run, result: { value: 1 } },
  };

  it('a lifecycle event keeps its whole detail', () => {
    // Act
    const result = validate(jobEventSchema, event);

    // Assess
    expect(result).toEqual({ success: true, data: event });
  });

  it('a lifecycle event must come from eventjobs, with a lifecycle detail-type', () => {
    // Prepare
    const other = { ...event, source: 'aws.lambda', 'detail-type': 'Job Paused' };

    // Act & Assess
    expect(issuesOf(jobEventSchema, other)).toEqual([
      'detail-type: Invalid option: expected one of "Job Queued"|"Job Started"|"Job Progress"|"Job Completed"|"Job Failed"|"Job Cancelled"|"Job Timed Out"',
      'source: Invalid input: expected "eventjobs"',
    ]);
  });

  it('a subscription names its action and a job', () => {
    // Act & Assess
    expect(issuesOf(subscribeRequestSchema, { action: 'subscribe', name: 'job-1' })).toBe('ok');
    expect(issuesOf(subscribeRequestSchema, { action: 'follow', name: '' })).toEqual([
      'action: Invalid input: expected "subscribe"',
      'name: must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots',
    ]);
  });
});

describe('the start request body', () => {
  /** The `details` of the 400 that parseStartRequest throws for `body`. */
  function detailsOf(body: unknown): unknown {
    try {
      parseStartRequest(body, 1024);
    } catch (error) {
      if (error instanceof BadRequestError) return error.details;
      throw error;
    }
    throw new Error('parseStartRequest accepted the body');
  }

  it.each([
    [
      'an unknown key',
      { type: 'echo', priority: 'high' },
      [{ message: 'Unrecognized key: "priority"' }],
    ],
    [
      'a type that is not a string',
      { type: 42 },
      [{ path: 'type', message: 'Invalid input: expected string, received number' }],
    ],
    [
      'a type over 128 characters',
      { type: 'x'.repeat(129) },
      [{ path: 'type', message: 'Too big: expected string to have <=128 characters' }],
    ],
    [
      'a timeout below 1',
      { type: 'echo', timeoutSeconds: 0 },
      [{ path: 'timeoutSeconds', message: 'Too small: expected number to be >=1' }],
    ],
    [
      'a timeout that is not whole',
      { type: 'echo', timeoutSeconds: 1.5 },
      [{ path: 'timeoutSeconds', message: 'Invalid input: expected int, received number' }],
    ],
    [
      'a callback with another key',
      { type: 'echo', callback: { url: 'https://example.com', secret: 'x' } },
      [{ path: 'callback', message: 'Unrecognized key: "secret"' }],
    ],
    [
      "an input the job type's schema refuses",
      { type: 'sleep', input: { seconds: 901 } },
      [{ path: 'input.seconds', message: 'Too big: expected number to be <=900' }],
    ],
  ])('answers with the path and message of %s', (_, body, details) => {
    // Act & Assess
    expect(detailsOf(body)).toEqual(details);
  });

  it('accepts a body without name, timeout or callback', () => {
    // Act
    const request = parseStartRequest({ type: 'echo', input: { value: 1 } }, 1024);

    // Assess
    expect(request).toMatchObject({ type: 'echo', input: { value: 1 } });
    expect(request.name).toBeUndefined();
    expect(request.timeoutSeconds).toBeUndefined();
    expect(request.callbackUrl).toBeUndefined();
  });
});
