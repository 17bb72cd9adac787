/**
 * Dead-letter queues of a deployed (or local) stack: list what is in them and
 * redrive it. The queues come from the stack's outputs: every output named
 * `<Prefix>DeadLetterQueueUrl` is a DLQ. A message is redriven by kind:
 *
 * - an EventBridge rule's DLQ message (it has a `RULE_ARN` attribute; the body
 *   is the event) is put again on the rule's bus with its source, detail-type,
 *   resources and detail;
 * - a Lambda DLQ message (a `RequestID` attribute; the body is the original
 *   event) is invoked again, asynchronously, on the function named by the
 *   output `<Prefix>FunctionName`.
 *
 * A message is deleted only once its redrive was accepted.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

const DLQ_OUTPUT = /^(.*)DeadLetterQueueUrl$/;
/** Long enough to read a whole queue and redrive it before the messages show again. */
const HOLD_SECONDS = 60;

export interface DlqClients {
  readonly sqs: SQSClient;
  readonly events: EventBridgeClient;
  readonly lambda: LambdaClient;
}

export interface DeadLetterQueue {
  /** The output's prefix, e.g. `Rule` or `Completion`. */
  readonly name: string;
  readonly url: string;
  /** The function whose DLQ this is (output `<Prefix>FunctionName`), if any. */
  readonly functionName?: string;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** Message attributes (ERROR_CODE, ERROR_MESSAGE, RULE_ARN, RequestID, ...), as strings. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly sentAt?: string;
  readonly receiveCount?: number;
}

export interface RedriveResult {
  readonly redriven: readonly string[];
  readonly failed: readonly { readonly messageId: string; readonly reason: string }[];
}

/** The stack's DLQs from its outputs. */
export function deadLetterQueues(outputs: Readonly<Record<string, string>>): DeadLetterQueue[] {
  const queues: DeadLetterQueue[] = [];
  for (const [key, url] of Object.entries(outputs)) {
    const prefix = DLQ_OUTPUT.exec(key)?.[1];
    if (prefix === undefined) continue;
    queues.push({ name: prefix, url, functionName: outputs[`${prefix}FunctionName`] });
  }
  return queues.sort((a, b) => a.name.localeCompare(b.name));
}

/** A queue by its output prefix (case-insensitive), output name or URL. */
export function findQueue(
  queues: readonly DeadLetterQueue[],
  ref: string,
): DeadLetterQueue | undefined {
  const lower = ref.toLowerCase();
  return queues.find(
    (queue) =>
      queue.name.toLowerCase() === lower ||
      `${queue.name}DeadLetterQueueUrl`.toLowerCase() === lower ||
      queue.url === ref,
  );
}

/**
 * Receives every message of a queue and holds them (invisible) for
 * `HOLD_SECONDS`; `release` makes them visible again.
 */
export async function receiveAll(sqs: SQSClient, url: string, max = 1000): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  while (letters.length < max) {
    const page = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(10, max - letters.length),
        VisibilityTimeout: HOLD_SECONDS,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = page.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) letters.push(toLetter(message));
  }
  return letters;
}

export async function release(
  sqs: SQSClient,
  url: string,
  letters: readonly DeadLetter[],
): Promise<void> {
  for (let i = 0; i < letters.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: letters.slice(i, i + 10).map((letter, index) => ({
          Id: String(index),
          ReceiptHandle: letter.receiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

/** Lists a queue without consuming it: receives everything, then makes it visible again. */
export async function listQueue(sqs: SQSClient, queue: DeadLetterQueue): Promise<DeadLetter[]> {
  const letters = await receiveAll(sqs, queue.url);
  await release(sqs, queue.url, letters);
  return letters;
}

/** Redrives every message of a queue; deletes each one whose redrive was accepted. */
export async function redriveQueue(
  clients: DlqClients,
  queue: DeadLetterQueue,
  fallbackBus?: string,
): Promise<RedriveResult> {
  const letters = await receiveAll(clients.sqs, queue.url);
  const redriven: string[] = [];
  const failed: { messageId: string; reason: string }[] = [];
  const keep: DeadLetter[] = [];
  for (const letter of letters) {
    try {
      await redriveOne(clients, queue, letter, fallbackBus);
      await clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: letter.receiptHandle }),
      );
      redriven.push(letter.messageId);
    } catch (error) {
      keep.push(letter);
      failed.push({
        messageId: letter.messageId,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
  await release(clients.sqs, queue.url, keep);
  return { redriven, failed };
}

async function redriveOne(
  clients: DlqClients,
  queue: DeadLetterQueue,
  letter: DeadLetter,
  fallbackBus: string | undefined,
): Promise<void> {
  const ruleArn = letter.attributes.RULE_ARN;
  if (ruleArn !== undefined) {
    const entry = eventEntry(letter.body, busOfRule(ruleArn) ?? fallbackBus);
    const result = await clients.events.send(new PutEventsCommand({ Entries: [entry] }));
    const failedEntry = result.Entries?.[0];
    if ((result.FailedEntryCount ?? 0) > 0 || failedEntry?.ErrorCode) {
      throw new Error(
        `PutEvents refused it: ${failedEntry?.ErrorCode ?? 'error'} ${failedEntry?.ErrorMessage ?? ''}`.trim(),
      );
    }
    return;
  }
  if (queue.functionName === undefined) {
    throw new Error(
      `no RULE_ARN attribute and no ${queue.name}FunctionName output: do not know where it came from`,
    );
  }
  const result = await clients.lambda.send(
    new InvokeCommand({
      FunctionName: queue.functionName,
      InvocationType: 'Event',
      Payload: Buffer.from(letter.body, 'utf8'),
    }),
  );
  if (result.StatusCode !== 202) {
    throw new Error(`Invoke answered ${result.StatusCode ?? 'no status'}`);
  }
}

/** `arn:aws:events:REGION:ACCOUNT:rule/BUS/RULE` names its bus; a default-bus rule is `rule/RULE`. */
export function busOfRule(ruleArn: string): string | undefined {
  const resource = ruleArn.split(':').slice(5).join(':');
  const parts = resource.split('/');
  if (parts[0] !== 'rule') return undefined;
  return parts.length >= 3 ? parts[1] : 'default';
}

/** The PutEvents entry that puts an event (as a rule's target received it) back on a bus. */
export function eventEntry(body: string, busName: string | undefined): PutEventsRequestEntry {
  const event = JSON.parse(body) as Record<string, unknown>;
  const source = event.source;
  const detailType = event['detail-type'];
  if (typeof source !== 'string' || typeof detailType !== 'string') {
    throw new Error('the body is not an EventBridge event (no source or detail-type)');
  }
  const resources = Array.isArray(event.resources)
    ? event.resources.filter((r): r is string => typeof r === 'string')
    : [];
  return {
    Source: source,
    DetailType: detailType,
    Detail: JSON.stringify(event.detail ?? {}),
    Resources: resources,
    ...(busName === undefined ? {} : { EventBusName: busName }),
  };
}

function toLetter(message: Message): DeadLetter {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) attributes[name] = value.StringValue;
  }
  const sent = message.Attributes?.SentTimestamp;
  const received = message.Attributes?.ApproximateReceiveCount;
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    ...(sent ? { sentAt: new Date(Number(sent)).toISOString() } : {}),
    ...(received ? { receiveCount: Number(received) } : {}),
  };
}

/** One message as a few lines for the terminal. */
export function formatLetter(letter: DeadLetter, bodyChars = 200): string {
  const attributes = Object.entries(letter.attributes)
    .map(([name, value]) => `${name}=${value.length > 120 ? `${value.slice(0, 120)}…` : value}`)
    .join('\n    ');
  const body = letter.body.length > bodyChars ? `${letter.body.slice(0, bodyChars)}…` : letter.body;
  return [
    `  ${letter.messageId}${letter.sentAt ? `  sent ${letter.sentAt}` : ''}`,
    ...(attributes ? [`    ${attributes}`] : []),
    `    body: ${body}`,
  ].join('\n');
}
