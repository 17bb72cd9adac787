/**
 * Routing and delivery of the local EventBridge, with fake Lambda and SQS:
 * this project's two real rules, target input shaping, retries and
 * dead-letter queues, bus-to-bus, scheduled rules.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EVENT_SOURCE,
  JOB_OUTCOME_EVENT_TYPES,
  JobEventType,
  LAMBDA_DESTINATION_SOURCE,
  LambdaDestinationType,
} from '../../../../core/events';
import {
  type InvocationType,
  type InvokeResult,
  type LambdaInvoker,
  LambdaServiceError,
  type LocalEnv,
  type PutEventsEntry,
  type QueueMessage,
  type QueueSender,
  type RuleSpec,
  type RuleTargetSpec,
} from '../../../../local/contracts';
import { LocalEventBridge, type LocalEventBridgeOptions } from '../../../../local/eventbridge/bus';
import { EventBridgeError } from '../../../../local/eventbridge/errors';
import { InvalidEventPatternError } from '../../../../local/eventbridge/pattern';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const env: LocalEnv = { region: REGION, accountId: ACCOUNT, partition: 'aws', timeScale: 0.001 };
const arn = (service: string, resource: string) =>
  `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;

const BUS = { name: 'eventjobs-bus', arn: arn('events', 'event-bus/eventjobs-bus') };
const OTHER_BUS = { name: 'other-bus', arn: arn('events', 'event-bus/other-bus') };
const COMPLETION_ARN = arn('lambda', 'function:eventjobs-completion');
const WORKER_ARN = arn('lambda', 'function:eventjobs-worker');
const RULE_DLQ_ARN = arn('sqs', 'eventjobs-rule-dlq');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

// ---------------------------------------------------------------- fakes

interface Invocation {
  readonly ref: string;
  readonly payload: string;
  readonly type: InvocationType;
}

/** Records invocations; `fail` decides, per call, whether Invoke answers with an error. */
class FakeLambda implements LambdaInvoker {
  readonly calls: Invocation[] = [];
  constructor(private readonly fail: (call: number) => Error | undefined = () => undefined) {}
  find() {
    return undefined;
  }
  async invoke(ref: string, payload: string, type: InvocationType): Promise<InvokeResult> {
    this.calls.push({ ref, payload, type });
    const error = this.fail(this.calls.length);
    if (error !== undefined) throw error;
    return { statusCode: 202, payload: '', executedVersion: '$LATEST' };
  }
  payloads(): unknown[] {
    return this.calls.map((call) => JSON.parse(call.payload));
  }
}

interface Sent {
  readonly arn: string;
  readonly body: string;
  readonly attributes: QueueMessage['messageAttributes'] | undefined;
}

class FakeQueues implements QueueSender {
  readonly sent: Sent[] = [];
  constructor(private readonly missing: ReadonlySet<string> = new Set()) {}
  async send(
    queueArn: string,
    body: string,
    attributes?: QueueMessage['messageAttributes'],
  ): Promise<string> {
    if (this.missing.has(queueArn)) {
      // The shape of the local SQS's error: status 400, type QueueDoesNotExist.
      throw Object.assign(new Error('The specified queue does not exist.'), {
        status: 400,
        type: 'QueueDoesNotExist',
      });
    }
    this.sent.push({ arn: queueArn, body, attributes });
    return `m-${this.sent.length}`;
  }
  peek(): readonly QueueMessage[] {
    return [];
  }
  to(queueArn: string): Sent[] {
    return this.sent.filter((message) => message.arn === queueArn);
  }
}

// ---------------------------------------------------------------- the project's rules

const defaultRetry = { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86_400 };

function completionTarget(overrides: Partial<RuleTargetSpec> = {}): RuleTargetSpec {
  return {
    id: 'Target0',
    arn: COMPLETION_ARN,
    deadLetterArn: RULE_DLQ_ARN,
    retryPolicy: defaultRetry,
    ...overrides,
  };
}

/** infra/async-jobs.ts's OutcomeRule, built from the same constants. */
function outcomeRule(overrides: Partial<RuleSpec> = {}): RuleSpec {
  return {
    logicalId: 'OutcomeRule',
    name: 'eventjobs-outcome',
    arn: arn('events', `rule/${BUS.name}/eventjobs-outcome`),
    busName: BUS.name,
    enabled: true,
    eventPattern: { source: [EVENT_SOURCE], 'detail-type': [...JOB_OUTCOME_EVENT_TYPES] },
    targets: [completionTarget()],
    ...overrides,
  };
}

/** infra/async-jobs.ts's WorkerFailureRule. */
function workerFailureRule(): RuleSpec {
  return {
    logicalId: 'WorkerFailureRule',
    name: 'eventjobs-worker-failure',
    arn: arn('events', `rule/${BUS.name}/eventjobs-worker-failure`),
    busName: BUS.name,
    enabled: true,
    eventPattern: {
      source: [LAMBDA_DESTINATION_SOURCE],
      'detail-type': [LambdaDestinationType.Failure],
      resources: [{ prefix: `${WORKER_ARN}:` }],
    },
    targets: [completionTarget()],
  };
}

function outcome(detailType: string = JobEventType.Completed, extra: Partial<PutEventsEntry> = {}) {
  return {
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify({ owner: 'alice', jobName: 'nightly', runId: 'r-1' }),
    EventBusName: BUS.name,
    ...extra,
  };
}

// ---------------------------------------------------------------- harness

const opened: LocalEventBridge[] = [];

afterEach(() => {
  for (const bridge of opened.splice(0)) bridge.close();
  vi.useRealTimers();
});

function bridgeWith(
  rules: readonly RuleSpec[],
  fakes: { lambda?: FakeLambda; queues?: FakeQueues } = {},
  options: Partial<LocalEventBridgeOptions> = {},
) {
  const lambda = fakes.lambda ?? new FakeLambda();
  const queues = fakes.queues ?? new FakeQueues();
  const lines: string[] = [];
  const bridge = new LocalEventBridge({
    env,
    buses: [BUS, OTHER_BUS],
    rules,
    lambda,
    queues,
    log: { line: (_source, text) => lines.push(text) },
    random: () => 1,
    ...options,
  });
  opened.push(bridge);
  return { bridge, lambda, queues, lines };
}

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

// ---------------------------------------------------------------- tests

describe("the project's OutcomeRule", () => {
  it.each(JOB_OUTCOME_EVENT_TYPES)('delivers "%s" to the completion function', async (type) => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule(), workerFailureRule()]);

    // Act
    const out = await bridge.putEvents([outcome(type)]);
    await bridge.whenIdle();

    // Assess
    expect(out).toEqual({
      FailedEntryCount: 0,
      Entries: [{ EventId: expect.stringMatching(UUID) }],
    });
    expect(lambda.calls).toHaveLength(1);
    expect(lambda.calls[0]).toMatchObject({ ref: COMPLETION_ARN, type: 'Event' });
    expect(lambda.payloads()[0]).toMatchObject({
      id: out.Entries[0]?.EventId,
      source: EVENT_SOURCE,
      'detail-type': type,
    });
  });

  it('hands the target the full envelope, keys in AWS order', async () => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule()]);

    // Act
    const before = Date.now();
    const out = await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    const event = lambda.payloads()[0] as Record<string, unknown>;
    expect(Object.keys(event)).toEqual([
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ]);
    expect(event).toEqual({
      version: '0',
      id: out.Entries[0]?.EventId,
      'detail-type': JobEventType.Completed,
      source: EVENT_SOURCE,
      account: ACCOUNT,
      time: expect.stringMatching(EVENT_TIME),
      region: REGION,
      resources: [],
      detail: { owner: 'alice', jobName: 'nightly', runId: 'r-1' },
    });
    expect(Date.parse(event.time as string)).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) * 1000,
    );
  });

  it.each([
    ['another source', outcome(JobEventType.Completed, { Source: 'someone-else' })],
    ['another detail-type', outcome('Job Started')],
    ['the default bus', outcome(JobEventType.Completed, { EventBusName: undefined })],
    ['another bus', outcome(JobEventType.Completed, { EventBusName: OTHER_BUS.name })],
  ])('does not deliver an event from %s', async (_name, entry) => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule(), workerFailureRule()]);

    // Act
    const out = await bridge.putEvents([entry]);
    await bridge.whenIdle();

    // Assess
    expect(out.FailedEntryCount).toBe(0);
    expect(lambda.calls).toHaveLength(0);
    expect(bridge.metrics()).toMatchObject({ put: 1, matched: 0, delivered: 0 });
  });

  it('routes an event whose EventBusName is the bus ARN', async () => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule()]);

    // Act
    await bridge.putEvents([outcome(JobEventType.Failed, { EventBusName: BUS.arn })]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(1);
  });

  it('ignores a disabled rule', async () => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule({ enabled: false })]);

    // Act
    await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(0);
    expect(bridge.metrics().matched).toBe(0);
  });

  it('answers PutEvents before any target runs', async () => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule()]);

    // Act
    await bridge.putEvents([outcome()]);
    const atReturn = lambda.calls.length;
    await bridge.whenIdle();

    // Assess
    expect(atReturn).toBe(0);
    expect(lambda.calls).toHaveLength(1);
  });
});

describe("the project's WorkerFailureRule", () => {
  function failureRecord(functionArn: string) {
    return {
      Source: LAMBDA_DESTINATION_SOURCE,
      DetailType: LambdaDestinationType.Failure,
      Resources: [BUS.arn, `${functionArn}:$LATEST`],
      Detail: JSON.stringify({ version: '1.0', requestContext: { condition: 'RetriesExhausted' } }),
      EventBusName: BUS.name,
    };
  }

  it('delivers a failure record of the worker', async () => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule(), workerFailureRule()]);

    // Act
    await bridge.putEvents([failureRecord(WORKER_ARN)]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(1);
    expect(lambda.payloads()[0]).toMatchObject({
      source: 'lambda',
      resources: [BUS.arn, `${WORKER_ARN}:$LATEST`],
    });
  });

  it.each([
    ['a function whose name extends the worker', `${WORKER_ARN}-2`],
    ['another function', COMPLETION_ARN],
  ])('does not deliver a failure record of %s', async (_name, functionArn) => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule(), workerFailureRule()]);

    // Act
    await bridge.putEvents([failureRecord(functionArn)]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(0);
  });

  it('does not deliver a success record of the worker', async () => {
    // Prepare
    const { bridge, lambda } = bridgeWith([workerFailureRule()]);

    // Act
    await bridge.putEvents([
      { ...failureRecord(WORKER_ARN), DetailType: LambdaDestinationType.Success },
    ]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(0);
  });
});

describe('target input', () => {
  async function deliverWith(target: Partial<RuleTargetSpec>): Promise<string> {
    const { bridge, lambda } = bridgeWith([outcomeRule({ targets: [completionTarget(target)] })]);
    await bridge.putEvents([
      outcome(JobEventType.Failed, {
        Detail: JSON.stringify({
          jobName: 'nightly',
          attempt: 2,
          error: { name: 'E', message: 'm' },
        }),
      }),
    ]);
    await bridge.whenIdle();
    expect(lambda.calls).toHaveLength(1);
    return lambda.calls[0]?.payload ?? '';
  }

  it('sends a constant Input as it is', async () => {
    // Act
    const payload = await deliverWith({ input: '{"fixed": true}' });

    // Assess
    expect(payload).toBe('{"fixed": true}');
  });

  it('sends the part InputPath names', async () => {
    // Act
    const payload = await deliverWith({ inputPath: '$.detail.error' });

    // Assess
    expect(JSON.parse(payload)).toEqual({ name: 'E', message: 'm' });
  });

  it('fills a JSON InputTemplate: JSON outside quotes, bare text inside, reserved variables', async () => {
    // Act
    const payload = await deliverWith({
      inputTransformer: {
        inputPathsMap: {
          job: '$.detail.jobName',
          attempt: '$.detail.attempt',
          error: '$.detail.error',
          type: '$.detail-type',
          missing: '$.detail.nothing',
        },
        inputTemplate:
          '{"job": <job>, "attempt": <attempt>, "error": <error>, "text": "<job> failed (<type>) on try <attempt>", "rule": <aws.events.rule-name>, "missing": <missing>}',
      },
    });

    // Assess
    expect(JSON.parse(payload)).toEqual({
      job: 'nightly',
      attempt: 2,
      error: { name: 'E', message: 'm' },
      text: 'nightly failed (Job Failed) on try 2',
      rule: 'eventjobs-outcome',
      missing: null,
    });
  });

  it('fills a string InputTemplate with bare text', async () => {
    // Act
    const payload = await deliverWith({
      inputTransformer: {
        inputPathsMap: { job: '$.detail.jobName' },
        inputTemplate: '"job <job> ended on rule <aws.events.rule-arn>"',
      },
    });

    // Assess
    expect(JSON.parse(payload)).toBe(
      `job nightly ended on rule ${arn('events', `rule/${BUS.name}/eventjobs-outcome`)}`,
    );
  });

  it('gives the whole event to <aws.events.event.json> and the event without detail to <aws.events.event>', async () => {
    // Act
    const payload = await deliverWith({
      inputTransformer: {
        inputTemplate: '{"all": <aws.events.event.json>, "head": <aws.events.event>}',
      },
    });

    // Assess
    const { all, head } = JSON.parse(payload);
    expect(all.detail).toMatchObject({ jobName: 'nightly' });
    expect(head).toEqual({ ...all, detail: undefined });
    expect(Object.hasOwn(head, 'detail')).toBe(false);
  });

  it('sends the full event to an SQS target as the message body', async () => {
    // Prepare
    const queueArn = arn('sqs', 'audit');
    const { bridge, queues } = bridgeWith([
      outcomeRule({ targets: [{ id: 'audit', arn: queueArn, retryPolicy: defaultRetry }] }),
    ]);

    // Act
    const out = await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    expect(queues.to(queueArn)).toHaveLength(1);
    expect(JSON.parse(queues.to(queueArn)[0]?.body ?? '')).toMatchObject({
      id: out.Entries[0]?.EventId,
    });
  });
});

describe('delivery failures', () => {
  const throttled = () => new LambdaServiceError(429, 'TooManyRequestsException', 'Rate Exceeded.');

  it('retries a throttled invoke and then succeeds, with no dead letter', async () => {
    // Prepare
    const lambda = new FakeLambda((call) => (call <= 2 ? throttled() : undefined));
    const { bridge, queues } = bridgeWith([outcomeRule()], { lambda });

    // Act
    await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(3);
    expect(queues.sent).toHaveLength(0);
    expect(bridge.metrics()).toMatchObject({
      delivered: 1,
      retried: 2,
      failed: 0,
      deadLettered: 0,
    });
  });

  it('sends the event to the dead-letter queue with AWS attributes once retries run out', async () => {
    // Prepare
    const lambda = new FakeLambda(throttled);
    const rule = outcomeRule({
      targets: [
        completionTarget({
          retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 86_400 },
        }),
      ],
    });
    const { bridge, queues } = bridgeWith([rule], { lambda });

    // Act
    const out = await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(3);
    const dead = queues.to(RULE_DLQ_ARN);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]?.body ?? '')).toMatchObject({
      id: out.Entries[0]?.EventId,
      source: EVENT_SOURCE,
    });
    expect(dead[0]?.attributes).toEqual({
      RULE_ARN: { DataType: 'String', StringValue: rule.arn },
      TARGET_ARN: { DataType: 'String', StringValue: COMPLETION_ARN },
      ERROR_CODE: { DataType: 'String', StringValue: 'THROTTLING' },
      ERROR_MESSAGE: { DataType: 'String', StringValue: 'Rate Exceeded.' },
      RETRY_ATTEMPTS: { DataType: 'String', StringValue: '2' },
      EXHAUSTED_RETRY_CONDITION: { DataType: 'String', StringValue: 'MaximumRetryAttempts' },
    });
    expect(bridge.metrics()).toMatchObject({
      delivered: 0,
      retried: 2,
      failed: 1,
      deadLettered: 1,
    });
  });

  it.each([
    [404, 'ResourceNotFoundException', 'NO_RESOURCE'],
    [403, 'AccessDeniedException', 'NO_PERMISSIONS'],
    [413, 'RequestEntityTooLargeException', 'INVALID_PARAMETER'],
  ])(
    'does not retry a %i %s: straight to the dead-letter queue as %s',
    async (status, code, errorCode) => {
      // Prepare
      const lambda = new FakeLambda(() => new LambdaServiceError(status, code, `${code} message`));
      const { bridge, queues } = bridgeWith([outcomeRule()], { lambda });

      // Act
      await bridge.putEvents([outcome()]);
      await bridge.whenIdle();

      // Assess
      expect(lambda.calls).toHaveLength(1);
      const attributes = queues.to(RULE_DLQ_ARN)[0]?.attributes ?? {};
      expect(attributes.ERROR_CODE?.StringValue).toBe(errorCode);
      expect(attributes.ERROR_MESSAGE?.StringValue).toBe(`${code} message`);
      expect(attributes.RETRY_ATTEMPTS?.StringValue).toBe('0');
      expect(attributes.EXHAUSTED_RETRY_CONDITION).toBeUndefined();
    },
  );

  it('stops retrying at the event age limit (times timeScale) and says so', async () => {
    // Prepare: 60 s at timeScale 0.01 is 600 ms; backoff starts at 10 ms and doubles.
    const lambda = new FakeLambda(
      () => new LambdaServiceError(500, 'ServiceException', 'Internal error'),
    );
    const rule = outcomeRule({
      targets: [
        completionTarget({
          retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 60 },
        }),
      ],
    });
    const { bridge, queues } = bridgeWith([rule], { lambda }, { env: { ...env, timeScale: 0.01 } });

    // Act
    const started = Date.now();
    await bridge.putEvents([outcome()]);
    await bridge.whenIdle();
    const elapsed = Date.now() - started;

    // Assess: retries at +10, +30, +70, +150, +310 ms; the next (+630) would pass 600 ms.
    const attributes = queues.to(RULE_DLQ_ARN)[0]?.attributes ?? {};
    expect(lambda.calls).toHaveLength(6);
    expect(attributes.ERROR_CODE?.StringValue).toBe('INTERNAL_ERROR');
    expect(attributes.RETRY_ATTEMPTS?.StringValue).toBe('5');
    expect(attributes.EXHAUSTED_RETRY_CONDITION?.StringValue).toBe('MaximumEventAgeInSeconds');
    expect(elapsed).toBeLessThan(2000);
  });

  it('logs and drops the event when the target has no dead-letter queue', async () => {
    // Prepare
    const lambda = new FakeLambda(
      () => new LambdaServiceError(404, 'ResourceNotFoundException', 'gone'),
    );
    const rule = outcomeRule({ targets: [completionTarget({ deadLetterArn: undefined })] });
    const { bridge, queues, lines } = bridgeWith([rule], { lambda });

    // Act
    await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    expect(queues.sent).toHaveLength(0);
    expect(bridge.metrics()).toMatchObject({ failed: 1, deadLettered: 0 });
    expect(lines.some((line) => line.includes('dropped') && line.includes('NO_RESOURCE'))).toBe(
      true,
    );
  });

  it('treats a missing SQS target queue as NO_RESOURCE, not retried', async () => {
    // Prepare
    const missingQueue = arn('sqs', 'deleted');
    const queues = new FakeQueues(new Set([missingQueue]));
    const rule = outcomeRule({
      targets: [
        { id: 'q', arn: missingQueue, deadLetterArn: RULE_DLQ_ARN, retryPolicy: defaultRetry },
      ],
    });
    const { bridge } = bridgeWith([rule], { queues });

    // Act
    await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    expect(queues.to(RULE_DLQ_ARN)[0]?.attributes?.ERROR_CODE?.StringValue).toBe('NO_RESOURCE');
    expect(bridge.metrics().retried).toBe(0);
  });

  it('counts an event lost when its dead-letter queue is missing too', async () => {
    // Prepare
    const lambda = new FakeLambda(
      () => new LambdaServiceError(404, 'ResourceNotFoundException', 'gone'),
    );
    const queues = new FakeQueues(new Set([RULE_DLQ_ARN]));
    const { bridge, lines } = bridgeWith([outcomeRule()], { lambda, queues });

    // Act
    await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    expect(bridge.metrics()).toMatchObject({ failed: 1, deadLettered: 0, deadLetterFailed: 1 });
    expect(lines.some((line) => line.includes('lost'))).toBe(true);
  });

  it('abandons pending retries on close', async () => {
    // Prepare
    const lambda = new FakeLambda(throttled);
    const { bridge, queues } = bridgeWith([outcomeRule()], { lambda }, { retryBaseMs: 60_000 });
    await bridge.putEvents([outcome()]);
    await vi.waitFor(() => expect(lambda.calls).toHaveLength(1));

    // Act
    bridge.close();
    await bridge.whenIdle();
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Assess
    expect(lambda.calls).toHaveLength(1);
    expect(queues.sent).toHaveLength(0);
  });
});

describe('event-bus targets', () => {
  function forwardRule(targetBusArn: string, from = 'default'): RuleSpec {
    return {
      logicalId: `Forward${from}`,
      name: `forward-${from}`,
      arn: arn('events', `rule/forward-${from}`),
      busName: from,
      enabled: true,
      eventPattern: { source: [EVENT_SOURCE] },
      targets: [
        { id: 'bus', arn: targetBusArn, deadLetterArn: RULE_DLQ_ARN, retryPolicy: defaultRetry },
      ],
    };
  }

  it('puts the event on the other bus as a new event with the same content', async () => {
    // Prepare
    const { bridge, lambda } = bridgeWith([forwardRule(BUS.arn), outcomeRule()]);

    // Act
    const out = await bridge.putEvents([
      outcome(JobEventType.Cancelled, {
        EventBusName: undefined,
        Time: new Date('2026-05-01T00:00:00Z'),
      }),
    ]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(1);
    const event = lambda.payloads()[0] as Record<string, unknown>;
    expect(event).toMatchObject({
      source: EVENT_SOURCE,
      'detail-type': JobEventType.Cancelled,
      time: '2026-05-01T00:00:00Z',
      detail: { jobName: 'nightly' },
    });
    expect(event.id).toMatch(UUID);
    expect(event.id).not.toBe(out.Entries[0]?.EventId);
  });

  it('does not forward an event that came from another bus to a third one', async () => {
    // Prepare
    const { bridge, lambda, queues } = bridgeWith([
      forwardRule(BUS.arn),
      forwardRule(OTHER_BUS.arn, BUS.name),
      { ...outcomeRule(), busName: OTHER_BUS.name },
    ]);

    // Act
    await bridge.putEvents([outcome(JobEventType.Completed, { EventBusName: undefined })]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(0);
    expect(queues.to(RULE_DLQ_ARN)).toHaveLength(1);
  });

  it('dead-letters an event for a bus that does not exist as NO_RESOURCE', async () => {
    // Prepare
    const { bridge, queues } = bridgeWith([forwardRule(arn('events', 'event-bus/ghost'))]);

    // Act
    await bridge.putEvents([outcome(JobEventType.Completed, { EventBusName: undefined })]);
    await bridge.whenIdle();

    // Assess
    const attributes = queues.to(RULE_DLQ_ARN)[0]?.attributes ?? {};
    expect(attributes.ERROR_CODE?.StringValue).toBe('NO_RESOURCE');
    expect(attributes.ERROR_MESSAGE?.StringValue).toBe('Event bus ghost does not exist.');
  });
});

describe('targets that are not emulated', () => {
  it('lists them and counts their deliveries as failed', async () => {
    // Prepare
    const topic = arn('sns', 'alerts');
    const rule = outcomeRule({
      targets: [completionTarget(), { id: 'sns', arn: topic, retryPolicy: defaultRetry }],
    });
    const { bridge, lambda } = bridgeWith([rule]);

    // Act
    await bridge.putEvents([outcome()]);
    await bridge.whenIdle();

    // Assess
    expect(bridge.unsupportedTargets()).toEqual([
      {
        ruleName: 'eventjobs-outcome',
        busName: BUS.name,
        targetId: 'sns',
        targetArn: topic,
        reason: 'sns targets are not emulated',
      },
    ]);
    expect(lambda.calls).toHaveLength(1);
    expect(bridge.metrics()).toMatchObject({ delivered: 1, failed: 1 });
  });
});

describe('PutEvents in process (Lambda destinations)', () => {
  it('refuses 11 entries with a ValidationException error', async () => {
    // Prepare
    const { bridge } = bridgeWith([outcomeRule()]);

    // Act
    const error = await bridge
      .putEvents(Array.from({ length: 11 }, () => outcome()))
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(EventBridgeError);
    expect(error).toMatchObject({ code: 'ValidationException', status: 400 });
  });

  it.each([
    ['epoch seconds', 1_767_323_045.9, '2026-01-02T03:04:05Z'],
    ['RFC 3339 text', '2026-01-02T03:04:05.900+00:00', '2026-01-02T03:04:05Z'],
    ['a Date', new Date('2026-01-02T03:04:05.900Z'), '2026-01-02T03:04:05Z'],
  ])('takes Time as %s', async (_name, time, expected) => {
    // Prepare
    const { bridge, lambda } = bridgeWith([outcomeRule()]);

    // Act
    await bridge.putEvents([outcome(JobEventType.Completed, { Time: time })]);
    await bridge.whenIdle();

    // Assess
    expect(lambda.payloads()[0]).toMatchObject({ time: expected });
  });

  it('refuses a Time that is not a timestamp, for the whole request', async () => {
    // Prepare
    const { bridge } = bridgeWith([outcomeRule()]);

    // Act
    const error = await bridge
      .putEvents([outcome(), outcome(JobEventType.Completed, { Time: 'yesterday' })])
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'SerializationException', status: 400 });
    expect(bridge.metrics().put).toBe(0);
  });
});

describe('rules AWS would refuse', () => {
  it('throws InvalidEventPatternException for an invalid pattern', () => {
    // Act
    const error = caught(() =>
      bridgeWith([outcomeRule({ eventPattern: { source: 'eventjobs' } })]),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidEventPatternError);
    expect((error as Error).message).toMatch(/^Event pattern is not valid\. Reason: /);
  });

  it.each([
    [
      'an invalid schedule',
      { busName: 'default', scheduleExpression: 'rate(1 minutes)' },
      'Parameter ScheduleExpression is not valid.',
    ],
    [
      'a schedule on a custom bus',
      { scheduleExpression: 'rate(1 minute)' },
      'ScheduleExpression is supported only on the default event bus.',
    ],
    [
      'neither pattern nor schedule',
      { eventPattern: undefined },
      'Parameter(s) ScheduleExpression or EventPattern must be specified.',
    ],
    ['a bus that does not exist', { busName: 'ghost' }, 'Event bus ghost does not exist.'],
  ])('throws for %s', (_name, overrides, message) => {
    // Act
    const error = caught(() => bridgeWith([outcomeRule(overrides)]));

    // Assess
    expect(error).toBeInstanceOf(EventBridgeError);
    expect((error as Error).message).toBe(message);
  });

  it('throws for a target Input that is not JSON', () => {
    // Act
    const error = caught(() =>
      bridgeWith([outcomeRule({ targets: [completionTarget({ input: 'nope' })] })]),
    );

    // Assess
    expect((error as Error).message).toContain('Input is not valid JSON');
  });
});

describe('scheduled rules', () => {
  function sweeper(overrides: Partial<RuleSpec> = {}): RuleSpec {
    return {
      logicalId: 'Sweeper',
      name: 'eventjobs-sweeper',
      arn: arn('events', 'rule/eventjobs-sweeper'),
      busName: 'default',
      enabled: true,
      scheduleExpression: 'rate(1 minute)',
      targets: [completionTarget()],
      ...overrides,
    };
  }

  it('fires a 1-minute rate every 0.6 s at timeScale 0.01 with the Scheduled Event shape', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { bridge, lambda } = bridgeWith([sweeper()], {}, { env: { ...env, timeScale: 0.01 } });

    // Act
    await vi.advanceTimersByTimeAsync(3000);
    await bridge.whenIdle();

    // Assess
    expect(lambda.calls).toHaveLength(5);
    const events = lambda.payloads() as Record<string, unknown>[];
    expect(events[0]).toEqual({
      version: '0',
      id: expect.stringMatching(UUID),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: ACCOUNT,
      time: expect.stringMatching(EVENT_TIME),
      region: REGION,
      resources: [arn('events', 'rule/eventjobs-sweeper')],
      detail: {},
    });
    expect(new Set(events.map((event) => event.id)).size).toBe(5);
  });

  it('fires on demand with fireNow, and not for a disabled rule', async () => {
    // Prepare
    const { bridge, lambda } = bridgeWith([
      sweeper(),
      sweeper({ name: 'off', arn: arn('events', 'rule/off'), enabled: false }),
    ]);

    // Act
    const fired = bridge.fireNow('eventjobs-sweeper');
    const disabled = bridge.fireNow('off');
    const unknown = bridge.fireNow('nope');
    await bridge.whenIdle();

    // Assess
    expect([fired, disabled, unknown]).toEqual([true, false, false]);
    expect(lambda.calls).toHaveLength(1);
    expect(bridge.nextFireTime('eventjobs-sweeper')).toBeInstanceOf(Date);
    expect(bridge.nextFireTime('off')).toBeUndefined();
  });

  it('stops firing once closed', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { bridge, lambda } = bridgeWith([sweeper()], {}, { env: { ...env, timeScale: 0.01 } });

    // Act
    bridge.close();
    await vi.advanceTimersByTimeAsync(3000);

    // Assess
    expect(lambda.calls).toHaveLength(0);
  });
});
