/**
 * The local EventBridge's wire API, driven by the real AWS SDK v3
 * EventBridgeClient through a tiny HTTP server, so what is asserted here is
 * what a function's SDK client sees: status codes, `__type`s, messages,
 * per-entry results.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeEventBusCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  AwsService,
  LambdaInvoker,
  LocalEnv,
  QueueMessage,
  QueueSender,
  RuleSpec,
} from '../../../../local/contracts';
import { LocalEventBridge, type LocalEventBridgeOptions } from '../../../../local/eventbridge/bus';

const env: LocalEnv = {
  region: 'eu-west-1',
  accountId: '123456789012',
  partition: 'aws',
  timeScale: 0.001,
};
const BUS_ARN = 'arn:aws:events:eu-west-1:123456789012:event-bus/jobs';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:sink';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MAX = 256 * 1024;

class RecordingQueues implements QueueSender {
  readonly sent: { arn: string; body: string }[] = [];
  async send(arn: string, body: string): Promise<string> {
    this.sent.push({ arn, body });
    return `m-${this.sent.length}`;
  }
  peek(): readonly QueueMessage[] {
    return [];
  }
}

const noLambda: LambdaInvoker = {
  find: () => undefined,
  invoke: async () => ({ statusCode: 202, payload: '', executedVersion: '$LATEST' }),
};

const sinkRule: RuleSpec = {
  logicalId: 'Sink',
  name: 'sink',
  arn: 'arn:aws:events:eu-west-1:123456789012:rule/jobs/sink',
  busName: 'jobs',
  enabled: true,
  eventPattern: { source: [{ prefix: '' }] },
  targets: [
    {
      id: 'queue',
      arn: QUEUE_ARN,
      retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
    },
  ],
};

interface Harness {
  readonly client: EventBridgeClient;
  readonly bridge: LocalEventBridge;
  readonly queues: RecordingQueues;
  readonly url: string;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** An HTTP server that hands every request to `service.handle`, as the local cloud's endpoint does. */
async function serve(service: AwsService): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      void service
        .handle({
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers,
          body: Buffer.concat(chunks),
          operation: headers['x-amz-target']?.split('.')[1],
        })
        .then((response) => {
          res.writeHead(response.status, response.headers);
          res.end(response.body);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

async function harness(options: Partial<LocalEventBridgeOptions> = {}): Promise<Harness> {
  const queues = new RecordingQueues();
  const bridge = new LocalEventBridge({
    env,
    buses: [{ name: 'jobs', arn: BUS_ARN }],
    rules: [sinkRule],
    lambda: noLambda,
    queues,
    log: { line: () => undefined },
    ...options,
  });
  const { server, url } = await serve(bridge.service());
  const client = new EventBridgeClient({
    endpoint: url,
    region: env.region,
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
  cleanups.push(async () => {
    client.destroy();
    bridge.close();
    await new Promise((resolve) => server.close(resolve));
  });
  return { client, bridge, queues, url };
}

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

function entry(overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry {
  return { Source: 'eventjobs', DetailType: 'Job Completed', Detail: '{"a":1}', ...overrides };
}

/** A Detail whose entry (Source "s", DetailType "d", no Time) is exactly `size` bytes. */
function detailForEntrySize(size: number): string {
  const padding = size - 2 - '{"p":""}'.length;
  return JSON.stringify({ p: 'x'.repeat(padding) });
}

describe('PutEvents through the SDK: per-entry results', () => {
  it('accepts a valid entry with a UUID event id and no failures', async () => {
    // Prepare
    const { client } = await harness();

    // Act
    const out = await client.send(new PutEventsCommand({ Entries: [entry()] }));

    // Assess
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toHaveLength(1);
    expect(out.Entries?.[0]?.EventId).toMatch(UUID);
    expect(out.Entries?.[0]?.ErrorCode).toBeUndefined();
  });

  it.each([
    [
      'missing Source',
      { Source: undefined },
      'InvalidArgument',
      'Parameter Source is not valid. Reason: Source is a required argument.',
    ],
    [
      'empty Source',
      { Source: '' },
      'InvalidArgument',
      'Parameter Source is not valid. Reason: Source is a required argument.',
    ],
    [
      'missing DetailType',
      { DetailType: undefined },
      'InvalidArgument',
      'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
    ],
    [
      'missing Detail',
      { Detail: undefined },
      'InvalidArgument',
      'Parameter Detail is not valid. Reason: Detail is a required argument.',
    ],
    ['Detail not JSON', { Detail: '{nope' }, 'MalformedDetail', 'Detail is malformed.'],
    ['Detail a JSON array', { Detail: '[1,2]' }, 'MalformedDetail', 'Detail is malformed.'],
    ['Detail a JSON string', { Detail: '"text"' }, 'MalformedDetail', 'Detail is malformed.'],
    ['Detail JSON null', { Detail: 'null' }, 'MalformedDetail', 'Detail is malformed.'],
    [
      'an aws. source',
      { Source: 'aws.lambda' },
      'NotAuthorizedForSourceException',
      'Not authorized for the source.',
    ],
    [
      'an unknown bus by name',
      { EventBusName: 'nope' },
      'ResourceNotFoundException',
      'Event bus nope does not exist.',
    ],
    [
      'an unknown bus by ARN',
      { EventBusName: 'arn:aws:events:eu-west-1:123456789012:event-bus/nope' },
      'ResourceNotFoundException',
      'Event bus nope does not exist.',
    ],
  ])('fails only the entry with %s', async (_name, overrides, code, message) => {
    // Prepare
    const { client } = await harness();

    // Act
    const out = await client.send(new PutEventsCommand({ Entries: [entry(overrides)] }));

    // Assess
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries).toEqual([{ ErrorCode: code, ErrorMessage: message }]);
  });

  it('answers a mixed batch in entry order and counts only the failures', async () => {
    // Prepare
    const { client } = await harness();

    // Act
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry(),
          entry({ Source: undefined }),
          entry({ EventBusName: 'jobs' }),
          entry({ Detail: 'nope' }),
          entry({ EventBusName: BUS_ARN }),
        ],
      }),
    );

    // Assess
    expect(out.FailedEntryCount).toBe(2);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'InvalidArgument',
      'ok',
      'MalformedDetail',
      'ok',
    ]);
    expect(new Set(out.Entries?.map((e) => e.EventId).filter(Boolean)).size).toBe(3);
  });

  it('accepts an entry for an unknown bus, and drops it, when configured the way AWS behaves', async () => {
    // Prepare
    const { client, bridge } = await harness({ unknownBus: 'accept' });

    // Act
    const out = await client.send(
      new PutEventsCommand({ Entries: [entry({ EventBusName: 'nope' })] }),
    );

    // Assess
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.[0]?.EventId).toMatch(UUID);
    expect(bridge.metrics().put).toBe(0);
  });
});

describe('PutEvents through the SDK: request limits', () => {
  it('takes 10 entries', async () => {
    // Prepare
    const { client } = await harness();

    // Act
    const out = await client.send(
      new PutEventsCommand({ Entries: Array.from({ length: 10 }, () => entry()) }),
    );

    // Assess
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toHaveLength(10);
  });

  it('refuses 11 entries as a whole with ValidationException 400', async () => {
    // Prepare
    const { client, bridge } = await harness();

    // Act
    const error = await rejection(
      client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) })),
    );

    // Assess
    expect(error.name).toBe('ValidationException');
    expect(error.$metadata).toMatchObject({ httpStatusCode: 400 });
    expect(error.message).toMatch(
      /^1 validation error detected: Value '\[PutEventsRequestEntry\(time=null, source=eventjobs, resources=null, detailType=Job Completed, detail=\{"a":1\}, .*\)\]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10$/,
    );
    expect(bridge.metrics().put).toBe(0);
  });

  it('refuses an empty batch', async () => {
    // Prepare
    const { client } = await harness();

    // Act
    const error = await rejection(client.send(new PutEventsCommand({ Entries: [] })));

    // Assess
    expect(error.name).toBe('ValidationException');
    expect(error.message).toBe(
      "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  it('accepts an entry of exactly 256 KiB', async () => {
    // Prepare
    const { client } = await harness();
    const detail = detailForEntrySize(MAX);

    // Act
    const out = await client.send(
      new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: detail }] }),
    );

    // Assess
    expect(Buffer.byteLength(detail) + 2).toBe(MAX);
    expect(out.FailedEntryCount).toBe(0);
  });

  it('refuses the whole request when the entry is one byte over', async () => {
    // Prepare
    const { client } = await harness();
    const detail = detailForEntrySize(MAX + 1);

    // Act
    const error = await rejection(
      client.send(
        new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: detail }] }),
      ),
    );

    // Assess
    expect(error.name).toBe('ValidationException');
    expect(error.$metadata).toMatchObject({ httpStatusCode: 400 });
    expect(error.message).toBe('Total size of the entries in the request is over the limit.');
  });

  it('counts Time as 14 bytes: the same entry with a Time is over the limit', async () => {
    // Prepare
    const { client } = await harness();
    const detail = detailForEntrySize(MAX - 13);

    // Act
    const error = await rejection(
      client.send(
        new PutEventsCommand({
          Entries: [{ Source: 's', DetailType: 'd', Detail: detail, Time: new Date() }],
        }),
      ),
    );

    // Assess
    expect(error.message).toBe('Total size of the entries in the request is over the limit.');
  });

  it('counts UTF-8 bytes, not characters', async () => {
    // Prepare: 'é' (2 bytes) and '🙂' (4 bytes) replace four 1-byte characters: 2 bytes over, 1 character fewer.
    const { client } = await harness({ maxEntryBytes: 1024 });
    const ascii = detailForEntrySize(1024);
    const wide = ascii.replace('xxxx', 'é🙂');

    // Act
    const exact = await client.send(
      new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: ascii }] }),
    );
    const error = await rejection(
      client.send(
        new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: wide }] }),
      ),
    );

    // Assess
    expect(wide.length).toBeLessThan(ascii.length);
    expect(exact.FailedEntryCount).toBe(0);
    expect(error.message).toBe('Total size of the entries in the request is over the limit.');
  });

  it('applies the limit to the sum of the entries, not to each one', async () => {
    // Prepare
    const { client } = await harness({ maxEntryBytes: 1024 });
    const half = detailForEntrySize(512);

    // Act
    const fits = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 's', DetailType: 'd', Detail: half },
          { Source: 's', DetailType: 'd', Detail: half },
        ],
      }),
    );
    const error = await rejection(
      client.send(
        new PutEventsCommand({
          Entries: [
            { Source: 's', DetailType: 'd', Detail: half },
            { Source: 's', DetailType: 'd', Detail: half },
            { Source: 's', DetailType: 'd', Detail: '{}' },
          ],
        }),
      ),
    );

    // Assess
    expect(fits.FailedEntryCount).toBe(0);
    expect(error.message).toBe('Total size of the entries in the request is over the limit.');
  });
});

describe('PutEvents through the SDK: the delivered event', () => {
  it('sets time from the SDK-serialized Time, truncated to seconds, and keeps resources', async () => {
    // Prepare
    const { client, bridge, queues } = await harness();

    // Act
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({
            EventBusName: 'jobs',
            Time: new Date('2026-01-02T03:04:05.678Z'),
            Resources: ['arn:aws:lambda:eu-west-1:123456789012:function:worker'],
          }),
        ],
      }),
    );
    await bridge.whenIdle();

    // Assess
    expect(queues.sent).toHaveLength(1);
    expect(JSON.parse(queues.sent[0]?.body ?? '')).toEqual({
      version: '0',
      id: out.Entries?.[0]?.EventId,
      'detail-type': 'Job Completed',
      source: 'eventjobs',
      account: '123456789012',
      time: '2026-01-02T03:04:05Z',
      region: 'eu-west-1',
      resources: ['arn:aws:lambda:eu-west-1:123456789012:function:worker'],
      detail: { a: 1 },
    });
  });
});

describe('other operations', () => {
  it('describes the default bus, a custom bus by name and by ARN', async () => {
    // Prepare
    const { client } = await harness();

    // Act
    const byDefault = await client.send(new DescribeEventBusCommand({}));
    const byName = await client.send(new DescribeEventBusCommand({ Name: 'jobs' }));
    const byArn = await client.send(new DescribeEventBusCommand({ Name: BUS_ARN }));

    // Assess
    expect(byDefault).toMatchObject({
      Name: 'default',
      Arn: 'arn:aws:events:eu-west-1:123456789012:event-bus/default',
    });
    expect(byName).toMatchObject({ Name: 'jobs', Arn: BUS_ARN });
    expect(byArn).toMatchObject({ Name: 'jobs', Arn: BUS_ARN });
  });

  it('answers ResourceNotFoundException for an unknown bus', async () => {
    // Prepare
    const { client } = await harness();

    // Act
    const error = await rejection(client.send(new DescribeEventBusCommand({ Name: 'nope' })));

    // Assess
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.message).toBe('Event bus nope does not exist.');
    expect(error.$metadata).toMatchObject({ httpStatusCode: 400 });
  });

  it('lists a bus rules and a rule targets', async () => {
    // Prepare
    const { client } = await harness();

    // Act
    const rules = await client.send(new ListRulesCommand({ EventBusName: 'jobs' }));
    const targets = await client.send(
      new ListTargetsByRuleCommand({ EventBusName: 'jobs', Rule: 'sink' }),
    );
    const none = await client.send(new ListRulesCommand({}));

    // Assess
    expect(rules.Rules).toEqual([
      {
        Name: 'sink',
        Arn: sinkRule.arn,
        EventPattern: '{"source":[{"prefix":""}]}',
        State: 'ENABLED',
        EventBusName: 'jobs',
      },
    ]);
    expect(targets.Targets).toEqual([
      {
        Id: 'queue',
        Arn: QUEUE_ARN,
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    ]);
    expect(none.Rules).toEqual([]);
  });

  it('answers an unknown operation with UnknownOperationException 400', async () => {
    // Prepare
    const { url } = await harness();

    // Act
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSEvents.Frobnicate',
      },
      body: '{}',
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it.each([
    ['not JSON', '{"Entries": ['],
    ['a JSON array', '[]'],
    ['Entries not a list', '{"Entries": "x"}'],
    ['a Source that is not a string', '{"Entries": [{"Source": 5}]}'],
  ])('answers a body that is %s with SerializationException 400', async (_name, body) => {
    // Prepare
    const { url } = await harness();

    // Act
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSEvents.PutEvents',
      },
      body,
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('SerializationException');
    expect(await response.json()).toMatchObject({ __type: 'SerializationException' });
  });
});
