/**
 * Asynchronous invocation: the event queue, AWS's retry and throttle rules,
 * event age, and the records sent to destinations and dead-letter queues.
 * Waits run at `timeScale` 0.001 (a 1-minute retry takes 60 ms); tests check
 * counts, order and lower bounds only, never tight timings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionSpec, LocalEnv } from '../../../../local/contracts';
import { LocalLambda, type LocalLambdaOptions } from '../../../../local/lambda';
import {
  BUS_ARN,
  DLQ_ARN,
  eventually,
  FakeBus,
  FakeQueues,
  fixtureSpec,
  functionArn,
  QUEUE_ARN,
  RecordingLog,
  TEST_ENV,
} from '../../../fixtures/lambda/harness';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let lambda: LocalLambda | undefined;

afterEach(async () => {
  await lambda?.close();
  lambda = undefined;
});

interface Harness {
  readonly lambda: LocalLambda;
  readonly log: RecordingLog;
  readonly bus: FakeBus;
  readonly queues: FakeQueues;
}

function start(
  functions: FunctionSpec[],
  options: Partial<LocalLambdaOptions> & { readonly env?: LocalEnv } = {},
): Harness {
  const log = new RecordingLog();
  const bus = new FakeBus();
  const queues = new FakeQueues();
  lambda = new LocalLambda({ env: TEST_ENV, functions, log, ...options });
  lambda.setDestinations({ events: bus, queues });
  return { lambda, log, bus, queues };
}

function json(text: string | undefined): Record<string, unknown> {
  const value: unknown = JSON.parse(text ?? 'null');
  if (typeof value !== 'object' || value === null) throw new Error(`not an object: ${text}`);
  return value as Record<string, unknown>;
}

/** When each run of `source` started and ended, from its START and END lines. */
function runs(log: RecordingLog, source: string): { start: number; end: number }[] {
  const lines = log.lines.filter((line) => line.source === source);
  const starts = lines.filter((line) => line.text.startsWith('START '));
  const ends = lines.filter((line) => line.text.startsWith('END '));
  return starts.map((start, index) => ({ start: start.at, end: ends[index]?.at ?? Number.NaN }));
}

describe('queueing', () => {
  it('answers 202 at once and runs the event afterwards', async () => {
    // Prepare
    const { lambda, log } = start([fixtureSpec('sleeps')]);

    // Act
    const result = await lambda.invoke('sleeps', '{"ms":300}', 'Event');

    // Assess
    expect(result).toEqual({ statusCode: 202, payload: '', executedVersion: '$LATEST' });
    expect(log.textOf('sleeps').some((line) => line.startsWith('END '))).toBe(false);
    expect(lambda.stats().queued).toBe(1);
    await lambda.whenIdle();
    expect(lambda.stats()).toMatchObject({ queued: 0, inFlight: 0, invocations: { sleeps: 1 } });
  });

  it('refuses an event over the async limit with 413, a limit that is configurable', async () => {
    const { lambda } = start([fixtureSpec('echo')], { asyncPayloadLimitBytes: 1000 });
    const payload = JSON.stringify({ data: 'x'.repeat(1000) });

    await expect(lambda.invoke('echo', payload, 'Event')).rejects.toMatchObject({
      status: 413,
      code: 'RequestEntityTooLargeException',
      message: 'Request must be smaller than 1000 bytes for the InvokeFunction operation',
    });
    await expect(lambda.invoke('echo', payload, 'RequestResponse')).resolves.toMatchObject({
      statusCode: 200,
    });
  });

  it('defaults the async limit to 1 MB', async () => {
    const { lambda } = start([fixtureSpec('echo')]);
    const fits = JSON.stringify({ d: 'x'.repeat(1024 * 1024 - 20) });
    const tooBig = JSON.stringify({ d: 'x'.repeat(1024 * 1024) });

    await expect(lambda.invoke('echo', fits, 'Event')).resolves.toMatchObject({ statusCode: 202 });
    await expect(lambda.invoke('echo', tooBig, 'Event')).rejects.toMatchObject({ status: 413 });
  });
});

describe('retries', () => {
  it('retries a failing event maximumRetryAttempts times, about 1 then 2 minutes apart (scaled)', async () => {
    // Prepare: 0.002 turns the 60 s and 120 s waits into 120 ms and 240 ms.
    const { lambda, log, queues } = start(
      [
        fixtureSpec('throws', {
          asyncConfig: { maximumRetryAttempts: 2, onFailureArn: QUEUE_ARN },
        }),
      ],
      { env: { ...TEST_ENV, timeScale: 0.002 } },
    );

    // Act
    const { requestId } = await lambda.invokeWithDetails('throws', '{"job":1}', 'Event');
    await lambda.whenIdle();

    // Assess
    const attempts = runs(log, 'throws');
    expect(attempts).toHaveLength(3);
    const [first, second, third] = attempts;
    expect((second?.start ?? 0) - (first?.end ?? 0)).toBeGreaterThanOrEqual(115);
    expect((third?.start ?? 0) - (second?.end ?? 0)).toBeGreaterThanOrEqual(235);
    const starts = log.textOf('throws').filter((line) => line.startsWith('START'));
    expect(new Set(starts)).toEqual(new Set([`START RequestId: ${requestId} Version: $LATEST`]));
    expect(queues.sent).toHaveLength(1);
    expect(json(queues.sent[0]?.body).requestContext).toMatchObject({
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    });
  });

  it('does not retry when maximumRetryAttempts is 0', async () => {
    const { lambda } = start([fixtureSpec('throws', { asyncConfig: { maximumRetryAttempts: 0 } })]);

    await lambda.invoke('throws', '{}', 'Event');
    await lambda.whenIdle();

    expect(lambda.stats().invocations).toEqual({ throws: 1 });
  });

  it('retries timeouts and crashes like any function error', async () => {
    const { lambda } = start([
      fixtureSpec('sleeps', { timeoutSeconds: 1, asyncConfig: { maximumRetryAttempts: 1 } }),
      fixtureSpec('exits', { asyncConfig: { maximumRetryAttempts: 2 } }),
    ]);

    await lambda.invoke('sleeps', '{"ms":60000}', 'Event');
    await lambda.invoke('exits', '{}', 'Event');
    await lambda.whenIdle();

    expect(lambda.stats().invocations).toEqual({ sleeps: 2, exits: 3 });
  });

  it('stops retrying once an attempt succeeds', async () => {
    const { lambda, bus } = start([
      fixtureSpec('flaky', { asyncConfig: { maximumRetryAttempts: 2, onSuccessArn: BUS_ARN } }),
    ]);

    await lambda.invoke('flaky', '{"failures":1}', 'Event');
    await lambda.whenIdle();

    expect(lambda.stats().invocations).toEqual({ flaky: 2 });
    const detail = json(bus.entries[0]?.Detail);
    expect(detail.requestContext).toMatchObject({
      condition: 'Success',
      approximateInvokeCount: 2,
    });
    expect(detail.responsePayload).toEqual({ runs: 2 });
  });

  it('backs off on throttles without using up retry attempts', async () => {
    // Prepare: one slot, held by a sync call while the event waits.
    const { lambda, bus } = start([
      fixtureSpec('cold-starts', {
        reservedConcurrency: 1,
        asyncConfig: { maximumRetryAttempts: 0, onSuccessArn: BUS_ARN },
      }),
    ]);
    const holding = lambda.invoke('cold-starts', '{"holdMs":400}', 'RequestResponse');

    // Act
    await lambda.invoke('cold-starts', '{}', 'Event');
    await holding;
    await lambda.whenIdle();

    // Assess
    expect(lambda.stats().throttles['cold-starts']).toBeGreaterThanOrEqual(2);
    expect(lambda.stats().invocations).toEqual({ 'cold-starts': 2 });
    expect(json(bus.entries[0]?.Detail).requestContext).toMatchObject({
      condition: 'Success',
      approximateInvokeCount: 1,
    });
  });
});

describe('event age and reserved concurrency 0', () => {
  it('drops an event throttled past maximumEventAgeSeconds with EventAgeExceeded', async () => {
    // Prepare: 60 s of age is 60 ms here; the only slot is held for 500 ms.
    const { lambda, queues } = start([
      fixtureSpec('cold-starts', {
        reservedConcurrency: 1,
        asyncConfig: { maximumEventAgeSeconds: 60, onFailureArn: QUEUE_ARN },
      }),
    ]);
    const holding = lambda.invoke('cold-starts', '{"holdMs":500}', 'RequestResponse');

    // Act
    await lambda.invoke('cold-starts', '{"late":true}', 'Event');
    await lambda.whenIdle();
    await holding;

    // Assess
    expect(lambda.stats().invocations).toEqual({ 'cold-starts': 1 });
    const record = json(queues.sent[0]?.body);
    expect(record.requestContext).toMatchObject({
      condition: 'EventAgeExceeded',
      approximateInvokeCount: 0,
    });
    expect(record.requestPayload).toEqual({ late: true });
    expect(record).not.toHaveProperty('responseContext');
    expect(record).not.toHaveProperty('responsePayload');
  });

  it('drops a failed event whose next retry would come after its maximum age', async () => {
    // Prepare: the first retry comes 60 s after the failure, so after the 60 s age limit
    // (300 ms here: room for the first attempt to start, however busy the machine is).
    const { lambda, queues } = start(
      [
        fixtureSpec('throws', {
          asyncConfig: {
            maximumRetryAttempts: 2,
            maximumEventAgeSeconds: 60,
            onFailureArn: QUEUE_ARN,
          },
        }),
      ],
      { env: { ...TEST_ENV, timeScale: 0.005 } },
    );

    await lambda.invoke('throws', '{}', 'Event');
    await lambda.whenIdle();

    expect(lambda.stats().invocations).toEqual({ throws: 1 });
    const record = json(queues.sent[0]?.body);
    expect(record.requestContext).toMatchObject({
      condition: 'EventAgeExceeded',
      approximateInvokeCount: 1,
    });
    expect(record.responseContext).toEqual({
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    });
    expect(record.responsePayload).toMatchObject({ errorType: 'ValidationFailed' });
  });

  it('sends events of a function with reserved concurrency 0 straight to OnFailure', async () => {
    const { lambda, queues } = start([
      fixtureSpec('echo', {
        reservedConcurrency: 0,
        asyncConfig: { maximumRetryAttempts: 2, onFailureArn: QUEUE_ARN },
      }),
    ]);

    await lambda.invoke('echo', '{"n":1}', 'Event');
    await lambda.whenIdle();

    expect(lambda.stats().invocations).toEqual({});
    expect(lambda.stats().throttles).toEqual({});
    const record = json(queues.sent[0]?.body);
    expect(record.requestContext).toMatchObject({
      condition: 'RetriesExhausted',
      approximateInvokeCount: 0,
    });
    expect(record.requestPayload).toEqual({ n: 1 });
  });
});

describe('destinations', () => {
  it("puts AWS's exact Success record on an EventBridge bus", async () => {
    // Prepare
    const { lambda, bus } = start([
      fixtureSpec('echo', { asyncConfig: { onSuccessArn: BUS_ARN, onFailureArn: QUEUE_ARN } }),
    ]);

    // Act
    const { requestId } = await lambda.invokeWithDetails('echo', '{"order":42}', 'Event');
    await lambda.whenIdle();

    // Assess
    expect(bus.entries).toHaveLength(1);
    const entry = bus.entries[0];
    expect(entry).toEqual({
      Source: 'lambda',
      DetailType: 'Lambda Function Invocation Result - Success',
      Detail: expect.any(String),
      Resources: [BUS_ARN, `${functionArn('echo')}:$LATEST`],
      EventBusName: BUS_ARN,
    });
    const detail = json(entry?.Detail);
    expect(Object.keys(detail)).toEqual([
      'version',
      'timestamp',
      'requestContext',
      'requestPayload',
      'responseContext',
      'responsePayload',
    ]);
    expect(detail).toEqual({
      version: '1.0',
      timestamp: expect.stringMatching(ISO_TIME),
      requestContext: {
        requestId,
        functionArn: `${functionArn('echo')}:$LATEST`,
        condition: 'Success',
        approximateInvokeCount: 1,
      },
      requestPayload: { order: 42 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { order: 42 },
    });
    expect(requestId).toMatch(UUID);
  });

  it('sends the Failure record to an SQS queue, with functionError and the error payload', async () => {
    // Prepare
    const { lambda, queues } = start([
      fixtureSpec('throws', { asyncConfig: { maximumRetryAttempts: 1, onFailureArn: QUEUE_ARN } }),
    ]);

    // Act
    const { requestId } = await lambda.invokeWithDetails('throws', '{"order":7}', 'Event');
    await lambda.whenIdle();

    // Assess
    expect(queues.sent).toHaveLength(1);
    expect(queues.sent[0]?.queueArn).toBe(QUEUE_ARN);
    expect(json(queues.sent[0]?.body)).toEqual({
      version: '1.0',
      timestamp: expect.stringMatching(ISO_TIME),
      requestContext: {
        requestId,
        functionArn: `${functionArn('throws')}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 2,
      },
      requestPayload: { order: 7 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: {
        errorType: 'ValidationFailed',
        errorMessage: 'bad input: {"order":7}',
        trace: expect.arrayContaining(['ValidationFailed: bad input: {"order":7}']),
      },
    });
  });

  it('puts a Failure record with detail-type "... - Failure" on a bus', async () => {
    const { lambda, bus } = start([
      fixtureSpec('exits', { asyncConfig: { maximumRetryAttempts: 0, onFailureArn: BUS_ARN } }),
    ]);

    await lambda.invoke('exits', '{}', 'Event');
    await lambda.whenIdle();

    expect(bus.entries[0]?.DetailType).toBe('Lambda Function Invocation Result - Failure');
    expect(json(bus.entries[0]?.Detail).responsePayload).toMatchObject({
      errorType: 'Runtime.ExitError',
    });
  });

  it('invokes a Lambda destination asynchronously with the record', async () => {
    // Prepare: echo's success goes to recorder, whose success goes to the bus.
    const { lambda, bus } = start([
      fixtureSpec('echo', { asyncConfig: { onSuccessArn: functionArn('recorder') } }),
      fixtureSpec('echo', { name: 'recorder', asyncConfig: { onSuccessArn: BUS_ARN } }),
    ]);

    // Act
    const { requestId } = await lambda.invokeWithDetails('echo', '{"step":1}', 'Event');
    await lambda.whenIdle();

    // Assess
    const detail = json(bus.entries[0]?.Detail);
    expect(detail.requestContext).toMatchObject({
      functionArn: `${functionArn('recorder')}:$LATEST`,
    });
    expect(detail.requestPayload).toMatchObject({
      requestContext: { requestId, condition: 'Success' },
      requestPayload: { step: 1 },
    });
  });

  it('logs a record the bus refuses (FailedEntryCount) and carries on', async () => {
    const { lambda, bus, log } = start([
      fixtureSpec('echo', { asyncConfig: { onSuccessArn: BUS_ARN } }),
    ]);
    bus.refuseWith = 'InternalFailure';

    await lambda.invoke('echo', '{}', 'Event');
    await lambda.whenIdle();

    expect(
      log
        .textOf('lambda')
        .some(
          (line) =>
            line.includes('DestinationDeliveryFailures') && line.includes('InternalFailure'),
        ),
    ).toBe(true);
  });

  it('logs once that SNS destinations are not emulated', async () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:outcomes';
    const { lambda, log } = start([fixtureSpec('echo', { asyncConfig: { onSuccessArn: topic } })]);

    await lambda.invoke('echo', '{}', 'Event');
    await lambda.invoke('echo', '{}', 'Event');
    await lambda.whenIdle();

    const notices = log.textOf('lambda').filter((line) => line.includes('not emulated'));
    expect(notices).toEqual([`destination type not emulated: ${topic}`]);
  });

  it('sends nothing on success when only OnFailure is set', async () => {
    const { lambda, bus, queues } = start([
      fixtureSpec('echo', { asyncConfig: { onFailureArn: BUS_ARN } }),
    ]);

    await lambda.invoke('echo', '{}', 'Event');
    await lambda.whenIdle();

    expect(bus.entries).toEqual([]);
    expect(queues.sent).toEqual([]);
  });
});

describe('dead-letter queue', () => {
  it('sends the original event with RequestID, ErrorCode and ErrorMessage attributes', async () => {
    // Prepare
    const { lambda, queues } = start([
      fixtureSpec('throws', {
        deadLetterTargetArn: DLQ_ARN,
        asyncConfig: { maximumRetryAttempts: 1, onFailureArn: QUEUE_ARN },
      }),
    ]);

    // Act
    const { requestId } = await lambda.invokeWithDetails('throws', '{"order":9}', 'Event');
    await lambda.whenIdle();

    // Assess: the DLQ gets the event itself; the OnFailure destination still gets its record.
    const dead = queues.sent.filter((message) => message.queueArn === DLQ_ARN);
    expect(dead).toEqual([
      {
        queueArn: DLQ_ARN,
        body: '{"order":9}',
        messageAttributes: {
          RequestID: { DataType: 'String', StringValue: requestId },
          ErrorCode: { DataType: 'Number', StringValue: '200' },
          ErrorMessage: { DataType: 'String', StringValue: 'bad input: {"order":9}' },
        },
      },
    ]);
    expect(queues.sent.filter((message) => message.queueArn === QUEUE_ARN)).toHaveLength(1);
  });

  it('sends nothing to the DLQ when the event succeeds', async () => {
    const { lambda, queues } = start([fixtureSpec('echo', { deadLetterTargetArn: DLQ_ARN })]);

    await lambda.invoke('echo', '{}', 'Event');
    await lambda.whenIdle();

    expect(queues.sent).toEqual([]);
  });
});

describe('close', () => {
  it('drops waiting retries and stops their timers', async () => {
    // Prepare: at real time scale the retry would come a minute later.
    const { lambda, log } = start([fixtureSpec('throws')], { env: { ...TEST_ENV, timeScale: 1 } });
    await lambda.invoke('throws', '{}', 'Event');
    await eventually(() =>
      expect(log.textOf('throws').some((line) => line.startsWith('END '))).toBe(true),
    );

    // Act
    await lambda.close();

    // Assess
    expect(lambda.stats()).toMatchObject({ queued: 0, workers: 0, invocations: { throws: 1 } });
    expect(log.textOf('lambda')).toContain('closing: dropped 1 unfinished async event(s)');
  });
});
