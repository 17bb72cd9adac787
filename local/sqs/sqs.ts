/**
 * The local cloud's SQS: the template's queues, in memory, behind SQS's JSON
 * protocol (what SDK v3 speaks: `X-Amz-Target: AmazonSQS.<Operation>`,
 * `application/x-amz-json-1.0`).
 *
 * Behaviour follows AWS where the project can observe it: visibility
 * timeouts, delays, long polling (WaitTimeSeconds up to 20 s, answered as
 * soon as a message is available), redrive to the dead-letter queue when a
 * message would be received more than `maxReceiveCount` times, retention
 * counted from the first enqueue, FIFO groups and deduplication ids, and the
 * MD5 digests the SDK checks. Queues are the template's: CreateQueue,
 * DeleteQueue and SetQueueAttributes are refused. The query (XML) protocol
 * of older SDKs is not spoken. Times are real: `timeScale` does not apply to
 * what callers choose themselves (visibility, delays, waits).
 */
import { randomUUID } from 'node:crypto';
import { type AwsJsonService, type Json, refuseUnlessPost, serveAwsJson } from '../aws-json';
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  LocalEnv,
  LogSink,
  QueueMessage,
  QueueSender,
  QueueSpec,
} from '../contracts';
import { SQS_PROTOCOL, SqsError, SqsErrors } from './errors';
import { type MessageAttributeValue, md5OfBody, md5OfMessageAttributes } from './md5';
import {
  LocalQueue,
  type NewMessage,
  parseReceiptHandle,
  type StoredMessage,
  systemAttributes,
  toQueueMessage,
} from './queue';

export interface LocalSqsOptions {
  readonly env: LocalEnv;
  readonly queues: readonly QueueSpec[];
  /** @default - nothing is logged */
  readonly log?: LogSink;
  /**
   * Largest message (body plus attributes) in bytes. AWS raised it from
   * 256 KiB to 1 MiB in 2025.
   * @default 1048576
   */
  readonly maxMessageBytes?: number;
  /** The clock, in ms since the epoch; tests move it to expire messages. @default Date.now */
  readonly now?: () => number;
}

/** A queue and what is in it, for a report at shutdown. */
export interface QueueContents {
  readonly queue: QueueSpec;
  readonly messages: readonly QueueMessage[];
}

const MAX_BATCH = 10;
const MAX_ATTRIBUTES = 10;
const MAX_WAIT_SECONDS = 20;
const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_DELAY_SECONDS = 900;
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** Characters SQS accepts in a body or string attribute. */
const INVALID_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const QUEUE_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
  'VisibilityTimeout',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'SqsManagedSseEnabled',
  'FifoQueue',
  'ContentBasedDeduplication',
] as const;

const MESSAGE_SYSTEM_ATTRIBUTES = new Set([
  'All',
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
]);

export class LocalSqs implements AwsService, QueueSender {
  readonly signingNames: readonly string[] = ['sqs'];

  readonly #byName = new Map<string, LocalQueue>();
  readonly #byArn = new Map<string, LocalQueue>();
  readonly #now: () => number;
  readonly #maxMessageBytes: number;
  readonly #warnedMissingDeadLetter = new Set<string>();
  #closed = false;

  readonly #options: LocalSqsOptions;

  readonly #json: AwsJsonService = {
    protocol: SQS_PROTOCOL,
    operations: {
      SendMessage: (input, request) => this.#sendMessage(input, request),
      SendMessageBatch: (input, request) => this.#sendMessageBatch(input, request),
      ReceiveMessage: (input) => this.#receiveMessage(input),
      DeleteMessage: (input) => this.#deleteMessage(input),
      DeleteMessageBatch: (input) => this.#deleteMessageBatch(input),
      ChangeMessageVisibility: (input) => this.#changeMessageVisibility(input),
      ChangeMessageVisibilityBatch: (input) => this.#changeMessageVisibilityBatch(input),
      GetQueueUrl: (input) => this.#getQueueUrl(input),
      GetQueueAttributes: (input) => this.#getQueueAttributes(input),
      ListQueues: (input) => this.#listQueues(input),
      ListDeadLetterSourceQueues: (input) => this.#listDeadLetterSourceQueues(input),
      PurgeQueue: (input) => {
        this.#queueOf(input).purge();
        return {};
      },
    },
    serialization: {
      invalidJson: 'The request body is not valid JSON.',
      notAnObject: 'The request body must be a JSON object.',
    },
    refuse: refuseUnlessPost(
      () =>
        new SqsError(
          'InvalidAction',
          'The local SQS speaks the JSON protocol only (X-Amz-Target: AmazonSQS.<Operation>).',
        ),
    ),
    unknownOperation: (operation) => SqsErrors.unsupportedOperation(operation),
    internalError: (error, operation) => {
      this.#options.log?.line('sqs', `${operation ?? 'request'} failed: ${String(error)}`);
      return new SqsError('InternalError', String(error), 'InternalError', 500);
    },
  };

  constructor(options: LocalSqsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxMessageBytes = options.maxMessageBytes ?? 1_048_576;
    for (const spec of options.queues) {
      const queue = new LocalQueue(spec, this.#now());
      this.#byName.set(spec.name, queue);
      this.#byArn.set(spec.arn, queue);
    }
  }

  handle(request: AwsRequest): Promise<AwsResponse> {
    return serveAwsJson(this.#json, request);
  }

  async send(
    queueArn: string,
    body: string,
    messageAttributes: QueueMessage['messageAttributes'] = {},
  ): Promise<string> {
    const queue = this.#byArn.get(queueArn);
    if (!queue) throw SqsErrors.nonExistentQueue();
    const attributes = this.#checkMessage(body, messageAttributes);
    return queue.add(
      {
        body,
        messageAttributes: attributes,
        senderId: this.#options.env.accountId,
        delaySeconds: 0,
        // Services that write to a FIFO dead-letter queue use one group.
        ...(queue.spec.fifo ? { groupId: 'local-cloud', deduplicationId: randomUUID() } : {}),
      },
      this.#now(),
    ).messageId;
  }

  peek(queueArn: string): readonly QueueMessage[] {
    const queue = this.#byArn.get(queueArn);
    if (!queue) throw SqsErrors.nonExistentQueue();
    return queue.list(this.#now()).map(toQueueMessage);
  }

  /** Every queue with its messages (visible, in flight or delayed), in template order. */
  contents(): readonly QueueContents[] {
    const now = this.#now();
    return [...this.#byName.values()].map((queue) => ({
      queue: queue.spec,
      messages: queue.list(now).map(toQueueMessage),
    }));
  }

  /** Ends long polls in progress (they answer with no messages); later receives do not wait. */
  close(): void {
    this.#closed = true;
    for (const queue of this.#byName.values()) queue.notify();
  }

  // ------------------------------------------------------------------ sending

  #sendMessage(input: Json, request: AwsRequest): object {
    const queue = this.#queueOf(input);
    return this.#enqueue(queue, input, senderOf(request, this.#options.env));
  }

  #sendMessageBatch(input: Json, request: AwsRequest): object {
    const queue = this.#queueOf(input);
    const entries = batchEntries(input.Entries);
    const bytes = entries.reduce(
      (total, entry) =>
        total +
        Buffer.byteLength(typeof entry.MessageBody === 'string' ? entry.MessageBody : '') +
        attributesSize(isObject(entry.MessageAttributes) ? entry.MessageAttributes : {}),
      0,
    );
    if (bytes > this.#maxMessageBytes) throw SqsErrors.batchTooLong(bytes, this.#maxMessageBytes);
    const sender = senderOf(request, this.#options.env);
    return batchResult(entries, (entry) => this.#enqueue(queue, entry, sender));
  }

  #enqueue(queue: LocalQueue, input: Json, senderId: string): object {
    const body = input.MessageBody;
    if (typeof body !== 'string' || body.length === 0)
      throw SqsErrors.missingParameter('MessageBody');
    const attributes = this.#checkMessage(
      body,
      isObject(input.MessageAttributes) ? input.MessageAttributes : {},
    );
    const delaySeconds = optionalInteger(
      input,
      'DelaySeconds',
      0,
      MAX_DELAY_SECONDS,
      'DelaySeconds must be >= 0 and <= 900',
    );
    const groupId = optionalString(input, 'MessageGroupId');
    let deduplicationId = optionalString(input, 'MessageDeduplicationId');
    if (queue.spec.fifo) {
      if (groupId === undefined) throw SqsErrors.missingParameter('MessageGroupId');
      if (delaySeconds !== undefined && delaySeconds !== 0) {
        throw SqsErrors.invalidValue(
          'DelaySeconds',
          delaySeconds,
          'The request include parameter that is not valid for this queue type',
        );
      }
      if (deduplicationId === undefined) {
        throw SqsErrors.invalidParameterValue(
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      }
    } else {
      if (groupId !== undefined || deduplicationId !== undefined) {
        throw SqsErrors.invalidParameterValue(
          'The request include parameter that is not valid for this queue type',
        );
      }
      deduplicationId = undefined;
    }
    const systemAttributes = isObject(input.MessageSystemAttributes)
      ? input.MessageSystemAttributes
      : {};
    const trace = systemAttributes.AWSTraceHeader;
    const message: NewMessage = {
      body,
      messageAttributes: attributes,
      traceHeader:
        isObject(trace) && typeof trace.StringValue === 'string' ? trace.StringValue : undefined,
      senderId,
      groupId,
      deduplicationId,
      delaySeconds: delaySeconds ?? 0,
    };
    const { messageId, sequenceNumber } = queue.add(message, this.#now());
    const attributesDigest = md5OfMessageAttributes(attributes);
    return {
      MessageId: messageId,
      MD5OfMessageBody: md5OfBody(body),
      ...(attributesDigest ? { MD5OfMessageAttributes: attributesDigest } : {}),
      ...(sequenceNumber ? { SequenceNumber: sequenceNumber } : {}),
    };
  }

  /** Validates a body and its attributes as SQS does; returns the attributes in their stored form. */
  #checkMessage(
    body: string,
    raw: Readonly<Record<string, unknown>>,
  ): Record<string, MessageAttributeValue> {
    if (INVALID_CHARACTER.test(body)) throw SqsErrors.invalidMessageContents();
    const names = Object.keys(raw);
    if (names.length > MAX_ATTRIBUTES) {
      throw SqsErrors.invalidParameterValue(
        `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`,
      );
    }
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const name of names) {
      const value = raw[name];
      if (!validAttributeName(name)) {
        throw SqsErrors.invalidParameterValue(
          `Message (user) attribute name '${name}' is invalid.`,
        );
      }
      if (!isObject(value) || typeof value.DataType !== 'string') {
        throw SqsErrors.invalidParameterValue(
          `The message attribute '${name}' must contain a non-empty message attribute type.`,
        );
      }
      const type = value.DataType;
      const base = /^(String|Number|Binary)(\..+)?$/.exec(type)?.[1];
      if (!base) {
        throw SqsErrors.invalidParameterValue(
          `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
        );
      }
      if (base === 'Binary') {
        if (typeof value.BinaryValue !== 'string' || value.BinaryValue.length === 0) {
          throw SqsErrors.invalidParameterValue(
            `Message (user) attribute '${name}' must contain a non-empty value of type 'Binary'.`,
          );
        }
        attributes[name] = { DataType: type, BinaryValue: value.BinaryValue };
        continue;
      }
      const text = value.StringValue;
      if (typeof text !== 'string' || text.length === 0) {
        throw SqsErrors.invalidParameterValue(
          `Message (user) attribute '${name}' must contain a non-empty value of type '${base}'.`,
        );
      }
      if (INVALID_CHARACTER.test(text)) throw SqsErrors.invalidMessageContents();
      if (base === 'Number' && !Number.isFinite(Number(text))) {
        throw SqsErrors.invalidParameterValue(
          `Can't cast the value of message (user) attribute '${name}' to a number.`,
        );
      }
      attributes[name] = { DataType: type, StringValue: text };
    }
    const size = Buffer.byteLength(body) + attributesSize(attributes);
    if (size > this.#maxMessageBytes) {
      throw SqsErrors.invalidParameterValue(
        `One or more parameters are invalid. Reason: Message must be shorter than ${this.#maxMessageBytes} bytes.`,
      );
    }
    return attributes;
  }

  // ---------------------------------------------------------------- receiving

  async #receiveMessage(input: Json): Promise<object> {
    const queue = this.#queueOf(input);
    const max =
      optionalInteger(
        input,
        'MaxNumberOfMessages',
        1,
        MAX_BATCH,
        'Must be between 1 and 10, if provided',
      ) ?? 1;
    const visibility =
      optionalInteger(
        input,
        'VisibilityTimeout',
        0,
        MAX_VISIBILITY_SECONDS,
        'Must be between 0 and 43200, if provided',
      ) ?? queue.spec.visibilityTimeoutSeconds;
    const waitSeconds =
      optionalInteger(
        input,
        'WaitTimeSeconds',
        0,
        MAX_WAIT_SECONDS,
        'Must be >= 0 and <= 20, if provided',
      ) ?? 0;
    const systemNames = [
      ...stringList(input.AttributeNames),
      ...stringList(input.MessageSystemAttributeNames),
    ];
    for (const name of systemNames) {
      if (!MESSAGE_SYSTEM_ATTRIBUTES.has(name)) throw SqsErrors.invalidAttributeName(name);
    }
    const attributeNames = stringList(input.MessageAttributeNames);

    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const messages = queue.receive(max, visibility * 1000, this.#now(), (message) =>
        this.#moveToDeadLetterQueue(queue, message),
      );
      const remaining = deadline - Date.now();
      if (messages.length > 0 || remaining <= 0 || this.#closed) {
        return messages.length > 0
          ? {
              Messages: messages.map((message) =>
                wireMessage(message, systemNames, attributeNames),
              ),
            }
          : {};
      }
      const next = queue.nextVisibleAt(this.#now());
      await queue.wait(next === undefined ? remaining : Math.min(remaining, next - this.#now()));
    }
  }

  /** Redrive: a message received `maxReceiveCount` times goes to the dead-letter queue instead of out again. */
  #moveToDeadLetterQueue(source: LocalQueue, message: StoredMessage): boolean {
    const arn = source.spec.redrive?.deadLetterTargetArn;
    const target = arn === undefined ? undefined : this.#byArn.get(arn);
    if (!target) {
      if (arn !== undefined && !this.#warnedMissingDeadLetter.has(arn)) {
        this.#warnedMissingDeadLetter.add(arn);
        this.#options.log?.line(
          'sqs',
          `${source.spec.name}: dead-letter queue ${arn} does not exist here; messages stay`,
        );
      }
      return false;
    }
    target.add(
      {
        body: message.body,
        messageAttributes: message.messageAttributes,
        traceHeader: message.traceHeader,
        senderId: message.senderId,
        groupId: message.groupId,
        deduplicationId: message.deduplicationId,
        deadLetterSourceArn: source.spec.arn,
        delaySeconds: 0,
        messageId: message.messageId,
        sentAt: message.sentAt,
        // AWS keeps a standard queue message's enqueue time (retention runs on); FIFO resets it.
        enqueuedAt: source.spec.fifo ? undefined : message.enqueuedAt,
      },
      this.#now(),
    );
    this.#options.log?.line(
      'sqs',
      `${source.spec.name}: message ${message.messageId} moved to ${target.spec.name} after ${message.receiveCount} receives`,
    );
    return true;
  }

  // ------------------------------------------------------------ handles

  #deleteMessage(input: Json): object {
    const queue = this.#queueOf(input);
    queue.delete(this.#handleOf(queue, input.ReceiptHandle));
    return {};
  }

  #deleteMessageBatch(input: Json): object {
    const queue = this.#queueOf(input);
    return this.#batch(input.Entries, (entry) => {
      queue.delete(this.#handleOf(queue, entry.ReceiptHandle));
    });
  }

  #changeMessageVisibility(input: Json): object {
    const queue = this.#queueOf(input);
    const handle = this.#handleOf(queue, input.ReceiptHandle);
    const seconds = requiredInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS);
    queue.changeVisibility(handle, seconds, this.#now());
    return {};
  }

  #changeMessageVisibilityBatch(input: Json): object {
    const queue = this.#queueOf(input);
    return this.#batch(input.Entries, (entry) => {
      const handle = this.#handleOf(queue, entry.ReceiptHandle);
      queue.changeVisibility(
        handle,
        requiredInteger(entry, 'VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS),
        this.#now(),
      );
    });
  }

  #batch(raw: unknown, apply: (entry: Json) => void): object {
    return batchResult(batchEntries(raw), (entry) => {
      apply(entry);
      return {};
    });
  }

  #handleOf(queue: LocalQueue, raw: unknown) {
    if (typeof raw !== 'string' || raw.length === 0)
      throw SqsErrors.missingParameter('ReceiptHandle');
    const handle = parseReceiptHandle(raw);
    if (!handle || handle.queueName !== queue.spec.name) throw SqsErrors.invalidReceiptHandle(raw);
    return handle;
  }

  // ------------------------------------------------------------ queues

  #getQueueUrl(input: Json): object {
    const name = input.QueueName;
    if (typeof name !== 'string') throw SqsErrors.missingParameter('QueueName');
    const owner = input.QueueOwnerAWSAccountId;
    const queue = this.#byName.get(name);
    if (!queue || (owner !== undefined && owner !== this.#options.env.accountId)) {
      throw SqsErrors.nonExistentQueue();
    }
    return { QueueUrl: queue.spec.url };
  }

  #getQueueAttributes(input: Json): object {
    const queue = this.#queueOf(input);
    const requested = stringList(input.AttributeNames);
    for (const name of requested) {
      if (name !== 'All' && !(QUEUE_ATTRIBUTES as readonly string[]).includes(name)) {
        throw SqsErrors.invalidAttributeName(name);
      }
    }
    const all = this.#queueAttributes(queue);
    const wanted = requested.includes('All') ? Object.keys(all) : requested;
    const attributes: Record<string, string> = {};
    for (const name of wanted) {
      const value = all[name];
      if (value !== undefined) attributes[name] = value;
    }
    return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
  }

  #queueAttributes(queue: LocalQueue): Record<string, string> {
    const counts = queue.counts(this.#now());
    const created = String(Math.floor(queue.createdAt / 1000));
    const { spec } = queue;
    return {
      QueueArn: spec.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: created,
      LastModifiedTimestamp: created,
      VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
      MaximumMessageSize: String(this.#maxMessageBytes),
      MessageRetentionPeriod: String(spec.messageRetentionSeconds),
      DelaySeconds: '0',
      ReceiveMessageWaitTimeSeconds: '0',
      SqsManagedSseEnabled: 'true',
      ...(spec.redrive
        ? {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: spec.redrive.deadLetterTargetArn,
              maxReceiveCount: spec.redrive.maxReceiveCount,
            }),
          }
        : {}),
      ...(spec.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {}),
    };
  }

  #listQueues(input: Json): object {
    const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
    const max = optionalInteger(
      input,
      'MaxResults',
      1,
      1000,
      'Must be between 1 and 1000, if provided',
    );
    const names = [...this.#byName.keys()].filter((name) => name.startsWith(prefix)).sort();
    const token = optionalString(input, 'NextToken');
    const start = token === undefined ? 0 : names.findIndex((name) => name > token);
    const page = start < 0 ? [] : names.slice(start, max === undefined ? undefined : start + max);
    const last = page[page.length - 1];
    const more = max !== undefined && last !== undefined && names.indexOf(last) < names.length - 1;
    const urls = page.map((name) => this.#byName.get(name)?.spec.url ?? '');
    return {
      ...(urls.length > 0 ? { QueueUrls: urls } : {}),
      ...(more && last !== undefined ? { NextToken: last } : {}),
    };
  }

  #listDeadLetterSourceQueues(input: Json): object {
    const queue = this.#queueOf(input);
    const sources = [...this.#byName.values()]
      .filter((source) => source.spec.redrive?.deadLetterTargetArn === queue.spec.arn)
      .map((source) => source.spec.url);
    // This operation's output member is lower-case on the wire.
    return { queueUrls: sources };
  }

  /** The queue of a request's QueueUrl: `<endpoint>/<account>/<name>`, matched on account and name. */
  #queueOf(input: Json): LocalQueue {
    const raw = input.QueueUrl;
    if (typeof raw !== 'string' || raw.length === 0) throw SqsErrors.missingParameter('QueueUrl');
    let segments: string[];
    try {
      segments = new URL(raw).pathname.split('/').filter(Boolean);
    } catch {
      throw SqsErrors.nonExistentQueue();
    }
    const [account, name] = segments.slice(-2);
    const queue = name === undefined ? undefined : this.#byName.get(name);
    if (!queue || account !== this.#options.env.accountId) throw SqsErrors.nonExistentQueue();
    return queue;
  }
}

// ---------------------------------------------------------------- helpers

function wireMessage(
  message: StoredMessage,
  systemNames: readonly string[],
  attributeNames: readonly string[],
): object {
  const system = systemAttributes(message);
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(system)) {
    if (systemNames.includes('All') || systemNames.includes(name)) attributes[name] = value;
  }
  const user: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.messageAttributes)) {
    if (attributeSelected(name, attributeNames)) user[name] = value;
  }
  const userDigest = md5OfMessageAttributes(user);
  return {
    MessageId: message.messageId,
    ReceiptHandle: message.receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
    ...(userDigest ? { MD5OfMessageAttributes: userDigest, MessageAttributes: user } : {}),
  };
}

/** `All` and `.*` select every attribute, `prefix.*` those with the prefix, anything else one name. */
function attributeSelected(name: string, requested: readonly string[]): boolean {
  return requested.some((pattern) => {
    if (pattern === 'All' || pattern === '.*') return true;
    if (pattern.endsWith('.*')) return name.startsWith(pattern.slice(0, -1));
    return pattern === name;
  });
}

function validAttributeName(name: string): boolean {
  return (
    /^[A-Za-z0-9_.-]{1,256}$/.test(name) &&
    !/^(aws\.|amazon\.)/i.test(name) &&
    !name.startsWith('.') &&
    !name.endsWith('.') &&
    !name.includes('..')
  );
}

function attributesSize(attributes: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name);
    if (!isObject(value)) continue;
    if (typeof value.DataType === 'string') size += Buffer.byteLength(value.DataType);
    if (typeof value.StringValue === 'string') size += Buffer.byteLength(value.StringValue);
    if (typeof value.BinaryValue === 'string')
      size += Buffer.from(value.BinaryValue, 'base64').length;
  }
  return size;
}

/** A batch's answer: each entry's output under its Id, or why SQS refused that entry. */
function batchResult(entries: readonly Json[], apply: (entry: Json) => object): object {
  const successful: object[] = [];
  const failed: object[] = [];
  for (const entry of entries) {
    try {
      successful.push({ Id: entry.Id, ...apply(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      failed.push({
        Id: entry.Id,
        SenderFault: true,
        Code: error.queryCode,
        Message: error.message,
      });
    }
  }
  return { Successful: successful, Failed: failed };
}

function batchEntries(raw: unknown): Json[] {
  if (!Array.isArray(raw) || raw.length === 0) throw SqsErrors.emptyBatch();
  if (raw.length > MAX_BATCH) throw SqsErrors.tooManyEntries(raw.length);
  const entries = raw.filter(isObject);
  const seen = new Set<string>();
  for (const entry of entries) {
    const id = entry.Id;
    if (typeof id !== 'string' || !BATCH_ID.test(id)) throw SqsErrors.invalidBatchEntryId();
    if (seen.has(id)) throw SqsErrors.idsNotDistinct(id);
    seen.add(id);
  }
  return entries;
}

/** SenderId as SQS reports it: the caller's user or role-session id. */
function senderOf(request: AwsRequest, env: LocalEnv): string {
  return request.caller?.userId ?? env.accountId;
}

function optionalString(input: Json, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw SqsErrors.invalidValue(name, value, 'Must be a string');
  return value;
}

function optionalInteger(
  input: Json,
  name: string,
  min: number,
  max: number,
  reason: string,
): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw SqsErrors.invalidValue(name, value, reason);
  }
  return value;
}

function requiredInteger(input: Json, name: string, min: number, max: number): number {
  const value = optionalInteger(input, name, min, max, `Must be between ${min} and ${max}`);
  if (value === undefined) throw SqsErrors.missingParameter(name);
  return value;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
