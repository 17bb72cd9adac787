/**
 * The local cloud's SQS, driven through the real SDK v3 client over HTTP.
 * The client checks MD5OfMessageBody on every send and receive, so any
 * digest the local SQS gets wrong fails these tests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  LocalEnv,
  QueueSpec,
} from '../../../../local/contracts';
import { LocalSqs } from '../../../../local/sqs';

const ENV: LocalEnv = {
  region: 'eu-west-1',
  accountId: '111122223333',
  partition: 'aws',
  timeScale: 1,
};

/** A tiny AWS endpoint routing every request to `target.service` (set once the queue URLs are known). */
async function serve(target: { service?: AwsService }) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const request: AwsRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers,
        body: Buffer.concat(chunks),
        operation: headers['x-amz-target']?.split('.')[1],
        caller: {
          accessKeyId: 'AKIDALICE',
          accountId: ENV.accountId,
          arn: `arn:aws:iam::${ENV.accountId}:user/alice`,
          userId: 'AIDAALICE',
        },
      };
      const handled = target.service
        ? target.service.handle(request)
        : Promise.resolve<AwsResponse>({ status: 503 });
      handled.then((response) => {
        res.writeHead(response.status, response.headers);
        res.end(response.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function queueSpec(endpoint: string, name: string, overrides: Partial<QueueSpec> = {}): QueueSpec {
  return {
    logicalId: name.replace(/[^A-Za-z0-9]/g, ''),
    name,
    arn: `arn:aws:sqs:${ENV.region}:${ENV.accountId}:${name}`,
    url: `${endpoint}/${ENV.accountId}/${name}`,
    fifo: name.endsWith('.fifo'),
    visibilityTimeoutSeconds: 30,
    messageRetentionSeconds: 345_600,
    ...overrides,
  };
}

interface Fixture {
  readonly sqs: LocalSqs;
  readonly client: SQSClient;
  readonly url: (name: string) => string;
  readonly arn: (name: string) => string;
  close(): Promise<void>;
}

async function start(
  queues: (endpoint: string) => QueueSpec[],
  options: {
    readonly now?: () => number;
    readonly wrap?: (service: AwsService) => AwsService;
  } = {},
): Promise<Fixture> {
  const target: { service?: AwsService } = {};
  const http = await serve(target);
  const specs = queues(http.url);
  const sqs = new LocalSqs({ env: ENV, queues: specs, now: options.now });
  target.service = options.wrap ? options.wrap(sqs) : sqs;
  const client = new SQSClient({
    endpoint: http.url,
    region: ENV.region,
    credentials: { accessKeyId: 'AKIDALICE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  const find = (name: string) => {
    const spec = specs.find((candidate) => candidate.name === name);
    if (!spec) throw new Error(`no queue ${name}`);
    return spec;
  };
  return {
    sqs,
    client,
    url: (name) => find(name).url,
    arn: (name) => find(name).arn,
    close: async () => {
      sqs.close();
      client.destroy();
      await http.close();
    },
  };
}

/** The queues of most tests: a work queue with a dead-letter queue after 2 receives. */
function standardQueues(endpoint: string): QueueSpec[] {
  const dlq = queueSpec(endpoint, 'work-dlq', { messageRetentionSeconds: 1_209_600 });
  return [
    queueSpec(endpoint, 'work', {
      redrive: { deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 },
    }),
    dlq,
    queueSpec(endpoint, 'other'),
  ];
}

describe('local SQS', () => {
  let f: Fixture;
  let client: SQSClient;

  beforeEach(async () => {
    f = await start(standardQueues);
    client = f.client;
  });
  afterEach(async () => {
    await f.close();
  });

  const receive = (
    name: string,
    extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {},
  ) => client.send(new ReceiveMessageCommand({ QueueUrl: f.url(name), ...extra }));

  const counts = async (name: string) => {
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: f.url(name), AttributeNames: ['All'] }),
    );
    return {
      visible: Number(Attributes?.ApproximateNumberOfMessages),
      inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
      delayed: Number(Attributes?.ApproximateNumberOfMessagesDelayed),
    };
  };

  describe('send, receive, delete', () => {
    it('round-trips a message with the digests the SDK and AWS expect', async () => {
      const body = 'héllo ✓ 🎉 {"job":"x"}';

      const sent = await client.send(
        new SendMessageCommand({
          QueueUrl: f.url('work'),
          MessageBody: body,
          MessageAttributes: { timestamp: { DataType: 'Number', StringValue: '1493147359900' } },
        }),
      );
      const { Messages } = await receive('work', {
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      });

      // Digest of this attribute as AWS computes it (pinned by moto's tests against SQS).
      expect(sent.MD5OfMessageAttributes).toBe('235c5c510d26fb653d073faed50ae77c');
      expect(Messages).toHaveLength(1);
      const [message] = Messages ?? [];
      expect(message?.MessageId).toBe(sent.MessageId);
      expect(message?.Body).toBe(body);
      expect(message?.MD5OfBody).toBe(sent.MD5OfMessageBody);
      expect(message?.MD5OfMessageAttributes).toBe('235c5c510d26fb653d073faed50ae77c');
      expect(message?.MessageAttributes).toEqual({
        timestamp: { DataType: 'Number', StringValue: '1493147359900' },
      });
      expect(message?.Attributes).toMatchObject({
        ApproximateReceiveCount: '1',
        SenderId: 'AIDAALICE',
      });
      expect(Number(message?.Attributes?.SentTimestamp)).toBeGreaterThan(Date.now() - 10_000);
    });

    it('returns only the attributes asked for', async () => {
      await client.send(
        new SendMessageCommand({
          QueueUrl: f.url('work'),
          MessageBody: 'x',
          MessageAttributes: {
            'trace.id': { DataType: 'String', StringValue: 't' },
            kind: { DataType: 'String', StringValue: 'k' },
          },
        }),
      );

      const { Messages } = await receive('work', {
        MessageAttributeNames: ['trace.*'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      });

      expect(Messages?.[0]?.MessageAttributes).toEqual({
        'trace.id': { DataType: 'String', StringValue: 't' },
      });
      expect(Messages?.[0]?.Attributes).toEqual({ ApproximateReceiveCount: '1' });
    });

    it('deletes a received message', async () => {
      await client.send(new SendMessageCommand({ QueueUrl: f.url('work'), MessageBody: 'a' }));
      const { Messages } = await receive('work');

      await client.send(
        new DeleteMessageCommand({
          QueueUrl: f.url('work'),
          ReceiptHandle: Messages?.[0]?.ReceiptHandle,
        }),
      );

      expect(await counts('work')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('hands out up to MaxNumberOfMessages, oldest first, and refuses more than 10', async () => {
      for (let i = 0; i < 12; i += 1) {
        await client.send(
          new SendMessageCommand({ QueueUrl: f.url('work'), MessageBody: `m${i}` }),
        );
      }

      const { Messages } = await receive('work', { MaxNumberOfMessages: 10 });

      expect(Messages?.map((message) => message.Body)).toEqual(
        Array.from({ length: 10 }, (_, i) => `m${i}`),
      );
      await expect(receive('work', { MaxNumberOfMessages: 11 })).rejects.toMatchObject({
        name: 'InvalidParameterValue',
      });
    });

    it('rejects a malformed receipt handle', async () => {
      await expect(
        client.send(
          new DeleteMessageCommand({ QueueUrl: f.url('work'), ReceiptHandle: 'nonsense' }),
        ),
      ).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid' });
    });

    it('rejects invalid attributes and characters', async () => {
      await expect(
        client.send(
          new SendMessageCommand({
            QueueUrl: f.url('work'),
            MessageBody: 'x',
            MessageAttributes: { n: { DataType: 'Number', StringValue: 'abc' } },
          }),
        ),
      ).rejects.toThrow(/to a number/);
      await expect(
        client.send(
          new SendMessageCommand({ QueueUrl: f.url('work'), MessageBody: 'bell \u0007' }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidMessageContents' });
    });
  });

  describe('MD5 checks by the SDK', () => {
    it('makes the SDK refuse a response whose body digest is wrong', async () => {
      const corrupted = await start(standardQueues, {
        wrap: (service) => ({
          signingNames: service.signingNames,
          handle: async (request) => {
            const response = await service.handle(request);
            const body = String(response.body).replace(
              /"MD5OfMessageBody":"[0-9a-f]+"/,
              '"MD5OfMessageBody":"00"',
            );
            return { ...response, body };
          },
        }),
      });
      try {
        await expect(
          corrupted.client.send(
            new SendMessageCommand({ QueueUrl: corrupted.url('work'), MessageBody: 'x' }),
          ),
        ).rejects.toThrow('InvalidChecksumError');
      } finally {
        await corrupted.close();
      }
    });
  });

  describe('visibility', () => {
    it('hides a received message until its visibility timeout is changed', async () => {
      await client.send(new SendMessageCommand({ QueueUrl: f.url('work'), MessageBody: 'v' }));
      const first = await receive('work', { VisibilityTimeout: 30 });
      const hidden = await receive('work');
      const whileHidden = await counts('work');

      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: f.url('work'),
          ReceiptHandle: first.Messages?.[0]?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      const again = await receive('work', {
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      });

      expect(hidden.Messages).toBeUndefined();
      expect(whileHidden).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
      expect(again.Messages?.[0]?.Body).toBe('v');
      expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
      expect(again.Messages?.[0]?.ReceiptHandle).not.toBe(first.Messages?.[0]?.ReceiptHandle);
    });

    it('lets only the latest receipt handle delete the message', async () => {
      await client.send(new SendMessageCommand({ QueueUrl: f.url('other'), MessageBody: 'h' }));
      const first = await receive('other', { VisibilityTimeout: 0 });
      const second = await receive('other', { VisibilityTimeout: 30 });

      await client.send(
        new DeleteMessageCommand({
          QueueUrl: f.url('other'),
          ReceiptHandle: first.Messages?.[0]?.ReceiptHandle,
        }),
      );
      const afterStale = await counts('other');
      await client.send(
        new DeleteMessageCommand({
          QueueUrl: f.url('other'),
          ReceiptHandle: second.Messages?.[0]?.ReceiptHandle,
        }),
      );

      expect(afterStale.inFlight).toBe(1);
      expect(await counts('other')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('refuses to change the visibility of a message that is not in flight', async () => {
      await client.send(new SendMessageCommand({ QueueUrl: f.url('other'), MessageBody: 'n' }));
      const { Messages } = await receive('other', { VisibilityTimeout: 0 });

      await expect(
        client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: f.url('other'),
            ReceiptHandle: Messages?.[0]?.ReceiptHandle,
            VisibilityTimeout: 10,
          }),
        ),
      ).rejects.toMatchObject({ name: 'MessageNotInflight' });
    });

    it('counts a delayed message as delayed, not visible', async () => {
      await client.send(
        new SendMessageCommand({ QueueUrl: f.url('other'), MessageBody: 'd', DelaySeconds: 60 }),
      );

      expect((await receive('other')).Messages).toBeUndefined();
      expect(await counts('other')).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
    });
  });

  describe('redrive', () => {
    it('moves a message received maxReceiveCount times to the dead-letter queue', async () => {
      const { MessageId } = await client.send(
        new SendMessageCommand({
          QueueUrl: f.url('work'),
          MessageBody: 'poison',
          MessageAttributes: { kind: { DataType: 'String', StringValue: 'p' } },
        }),
      );

      const receipts = [];
      for (let i = 0; i < 3; i += 1) receipts.push(await receive('work', { VisibilityTimeout: 0 }));
      const dead = await receive('work-dlq', {
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 0,
      });

      expect(receipts.map((r) => r.Messages?.length ?? 0)).toEqual([1, 1, 0]);
      expect(dead.Messages?.[0]).toMatchObject({
        MessageId,
        Body: 'poison',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'p' } },
      });
      expect(dead.Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn).toBe(f.arn('work'));
      expect(f.sqs.peek(f.arn('work-dlq')).map((message) => message.body)).toEqual(['poison']);
      expect(f.sqs.peek(f.arn('work'))).toEqual([]);
      const report = f.sqs.contents().map(({ queue, messages }) => [queue.name, messages.length]);
      expect(report).toEqual([
        ['work', 0],
        ['work-dlq', 1],
        ['other', 0],
      ]);
      const { queueUrls } = await client.send(
        new ListDeadLetterSourceQueuesCommand({ QueueUrl: f.url('work-dlq') }),
      );
      expect(queueUrls).toEqual([f.url('work')]);
    });
  });

  describe('long polling', () => {
    it('answers as soon as a message arrives', async () => {
      const startedAt = Date.now();
      const polling = receive('other', { WaitTimeSeconds: 10 });

      await new Promise((resolve) => setTimeout(resolve, 200));
      await client.send(new SendMessageCommand({ QueueUrl: f.url('other'), MessageBody: 'late' }));
      const { Messages } = await polling;

      expect(Messages?.[0]?.Body).toBe('late');
      expect(Date.now() - startedAt).toBeLessThan(5_000);
    });

    it('answers when an in-flight message becomes visible again', async () => {
      await client.send(new SendMessageCommand({ QueueUrl: f.url('other'), MessageBody: 'again' }));
      await receive('other', { VisibilityTimeout: 1 });
      const startedAt = Date.now();

      const { Messages } = await receive('other', { WaitTimeSeconds: 10 });

      expect(Messages?.[0]?.Body).toBe('again');
      expect(Date.now() - startedAt).toBeLessThan(5_000);
    });

    it('answers with nothing when the wait runs out', async () => {
      const startedAt = Date.now();

      const { Messages } = await receive('other', { WaitTimeSeconds: 1 });

      expect(Messages).toBeUndefined();
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    });

    it('refuses a wait over 20 seconds', async () => {
      await expect(receive('other', { WaitTimeSeconds: 21 })).rejects.toMatchObject({
        name: 'InvalidParameterValue',
      });
    });
  });

  describe('batches', () => {
    it('sends a batch with per-entry results and deletes a batch', async () => {
      const sent = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: f.url('other'),
          Entries: [
            { Id: 'a', MessageBody: 'one' },
            {
              Id: 'b',
              MessageBody: 'two',
              MessageAttributes: { n: { DataType: 'Number', StringValue: 'NaN?' } },
            },
            { Id: 'c', MessageBody: 'three' },
          ],
        }),
      );
      const { Messages } = await receive('other', { MaxNumberOfMessages: 10 });
      const deleted = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: f.url('other'),
          Entries: (Messages ?? []).map((message, i) => ({
            Id: `d${i}`,
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );

      expect(sent.Successful?.map((entry) => entry.Id)).toEqual(['a', 'c']);
      expect(sent.Failed).toEqual([
        expect.objectContaining({ Id: 'b', SenderFault: true, Code: 'InvalidParameterValue' }),
      ]);
      expect(Messages?.map((message) => message.Body)).toEqual(['one', 'three']);
      expect(deleted.Successful).toHaveLength(2);
      expect(await counts('other')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('refuses batches with repeated ids or more than 10 entries', async () => {
      await expect(
        client.send(
          new SendMessageBatchCommand({
            QueueUrl: f.url('other'),
            Entries: [
              { Id: 'x', MessageBody: '1' },
              { Id: 'x', MessageBody: '2' },
            ],
          }),
        ),
      ).rejects.toMatchObject({ name: 'BatchEntryIdsNotDistinct' });
      await expect(
        client.send(
          new SendMessageBatchCommand({
            QueueUrl: f.url('other'),
            Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'm' })),
          }),
        ),
      ).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
    });
  });

  describe('queues', () => {
    it('describes a queue with its ARN and redrive policy', async () => {
      const { Attributes } = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: f.url('work'), AttributeNames: ['All'] }),
      );

      expect(Attributes).toMatchObject({
        QueueArn: f.arn('work'),
        VisibilityTimeout: '30',
        MessageRetentionPeriod: '345600',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: f.arn('work-dlq'),
          maxReceiveCount: 2,
        }),
      });
    });

    it('finds queue URLs by name and by prefix', async () => {
      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'work-dlq' }));
      const { QueueUrls } = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'work' }));

      expect(QueueUrl).toBe(f.url('work-dlq'));
      expect(QueueUrls).toEqual([f.url('work'), f.url('work-dlq')]);
    });

    it('purges a queue', async () => {
      await client.send(new SendMessageCommand({ QueueUrl: f.url('other'), MessageBody: 'p' }));

      await client.send(new PurgeQueueCommand({ QueueUrl: f.url('other') }));

      expect(await counts('other')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('answers QueueDoesNotExist as the SDK expects it', async () => {
      const error = await client
        .send(
          new SendMessageCommand({
            QueueUrl: `${new URL(f.url('work')).origin}/${ENV.accountId}/missing`,
            MessageBody: 'x',
          }),
        )
        .catch((e) => e);
      const byName = await client
        .send(new GetQueueUrlCommand({ QueueName: 'missing' }))
        .catch((e) => e);

      expect(error).toBeInstanceOf(QueueDoesNotExist);
      expect(error.Code).toBe('AWS.SimpleQueueService.NonExistentQueue');
      expect(error.message).toBe('The specified queue does not exist.');
      expect(byName).toBeInstanceOf(QueueDoesNotExist);
    });

    it('refuses operations on the template-defined queue set', async () => {
      const response = await f.sqs.handle({
        method: 'POST',
        path: '/',
        query: new URLSearchParams(),
        headers: { 'x-amz-target': 'AmazonSQS.DeleteQueue' },
        body: Buffer.from(JSON.stringify({ QueueUrl: f.url('work') })),
      });

      expect(response.status).toBe(400);
      expect(JSON.parse(String(response.body)).__type).toBe(
        'com.amazonaws.sqs#UnsupportedOperation',
      );
    });
  });

  describe('QueueSender', () => {
    it('sends by ARN and peeks at what a queue holds', async () => {
      const id = await f.sqs.send(f.arn('work-dlq'), '{"failed":true}', {
        source: { DataType: 'String', StringValue: 'lambda' },
      });

      const [message] = f.sqs.peek(f.arn('work-dlq'));
      const { Messages } = await receive('work-dlq', { MessageAttributeNames: ['All'] });

      expect(message).toMatchObject({
        messageId: id,
        body: '{"failed":true}',
        messageAttributes: { source: { DataType: 'String', StringValue: 'lambda' } },
        attributes: { ApproximateReceiveCount: '0', SenderId: ENV.accountId },
      });
      expect(Messages?.[0]?.MessageAttributes?.source?.StringValue).toBe('lambda');
      expect(f.sqs.peek(f.arn('work-dlq'))).toHaveLength(1);
    });

    it('throws for a queue it does not have', async () => {
      await expect(f.sqs.send('arn:aws:sqs:eu-west-1:111122223333:nope', 'x')).rejects.toThrow(
        'The specified queue does not exist.',
      );
      expect(() => f.sqs.peek('arn:aws:sqs:eu-west-1:111122223333:nope')).toThrow();
    });
  });
});

describe('local SQS retention', () => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let f: Fixture;

  beforeAll(async () => {
    f = await start((endpoint) => [queueSpec(endpoint, 'brief', { messageRetentionSeconds: 60 })], {
      now: () => clock,
    });
  });
  afterAll(async () => {
    await f.close();
  });

  it('drops messages older than the retention period', async () => {
    await f.client.send(new SendMessageCommand({ QueueUrl: f.url('brief'), MessageBody: 'old' }));
    clock += 30_000;
    await f.client.send(new SendMessageCommand({ QueueUrl: f.url('brief'), MessageBody: 'new' }));

    clock += 31_000;
    const { Messages } = await f.client.send(
      new ReceiveMessageCommand({ QueueUrl: f.url('brief'), MaxNumberOfMessages: 10 }),
    );

    expect(Messages?.map((message) => message.Body)).toEqual(['new']);
  });
});

describe('local SQS FIFO queues', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await start((endpoint) => [queueSpec(endpoint, 'ordered.fifo')]);
  });
  afterAll(async () => {
    await f.close();
  });

  it('keeps a group in order, one batch in flight at a time, and drops duplicates', async () => {
    const send = (body: string, group: string, dedup: string) =>
      f.client.send(
        new SendMessageCommand({
          QueueUrl: f.url('ordered.fifo'),
          MessageBody: body,
          MessageGroupId: group,
          MessageDeduplicationId: dedup,
        }),
      );
    const first = await send('a1', 'a', 'd1');
    await send('a2', 'a', 'd2');
    await send('b1', 'b', 'd3');
    const duplicate = await send('a1 again', 'a', 'd1');

    const firstBatch = await f.client.send(
      new ReceiveMessageCommand({ QueueUrl: f.url('ordered.fifo'), MaxNumberOfMessages: 1 }),
    );
    const secondBatch = await f.client.send(
      new ReceiveMessageCommand({ QueueUrl: f.url('ordered.fifo'), MaxNumberOfMessages: 10 }),
    );

    expect(duplicate.MessageId).toBe(first.MessageId);
    expect(Number(duplicate.SequenceNumber)).toBeGreaterThan(0);
    expect(firstBatch.Messages?.map((message) => message.Body)).toEqual(['a1']);
    // Group a has a1 in flight, so a2 waits; b is free.
    expect(secondBatch.Messages?.map((message) => message.Body)).toEqual(['b1']);
    await expect(
      f.client.send(
        new SendMessageCommand({
          QueueUrl: f.url('ordered.fifo'),
          MessageBody: 'x',
          MessageGroupId: 'a',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });
});
