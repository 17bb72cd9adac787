/**
 * Where an asynchronous invocation's outcome goes: the OnSuccess / OnFailure
 * destinations of `AWS::Lambda::EventInvokeConfig` (an invocation record) and
 * the function's dead-letter queue (the original event).
 *
 * Delivery never throws: Lambda reports a failed delivery as the
 * `DestinationDeliveryFailures` metric and carries on; here it is a log line.
 */
import type { EventPublisher, LogSink, QueueSender } from '../contracts';
import { arnService, LATEST, qualifiedArn } from './function-ref';

/** Log source for what the Lambda service itself reports. */
export const LAMBDA_LOG_SOURCE = 'lambda';

export type RecordCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';

/** The record Lambda sends to a destination (AWS-FACTS, Lambda), keys in AWS's order. */
export interface InvocationRecord {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    /** Qualified: `arn:...:function:name:$LATEST`. */
    readonly functionArn: string;
    readonly condition: RecordCondition;
    readonly approximateInvokeCount: number;
  };
  readonly requestPayload: unknown;
  /** Absent when the function never ran (throttled until the event expired, reserved concurrency 0). */
  readonly responseContext?: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: 'Unhandled';
  };
  readonly responsePayload?: unknown;
}

export interface RecordInput {
  readonly requestId: string;
  /** The function's unqualified ARN. */
  readonly functionArn: string;
  readonly condition: RecordCondition;
  readonly approximateInvokeCount: number;
  /** The event, as JSON text. */
  readonly requestPayload: string;
  /** The last response, if the function ran. */
  readonly response?: { readonly payload: string; readonly functionError?: 'Unhandled' };
  readonly now: Date;
}

export function invocationRecord(input: RecordInput): InvocationRecord {
  const base = {
    version: '1.0' as const,
    timestamp: input.now.toISOString(),
    requestContext: {
      requestId: input.requestId,
      functionArn: qualifiedArn(input.functionArn),
      condition: input.condition,
      approximateInvokeCount: input.approximateInvokeCount,
    },
    requestPayload: parseJson(input.requestPayload),
  };
  if (!input.response) return base;
  const { payload, functionError } = input.response;
  return {
    ...base,
    responseContext: {
      statusCode: 200,
      executedVersion: LATEST,
      ...(functionError ? { functionError } : {}),
    },
    responsePayload: parseJson(payload),
  };
}

export interface DestinationTargets {
  readonly queues?: QueueSender;
  readonly events?: EventPublisher;
}

export interface DeadLetterInput {
  readonly targetArn: string;
  /** The original event, as JSON text. */
  readonly payload: string;
  readonly requestId: string;
  /** The HTTP status of the last attempt: 200 for a function error, 429 for a throttle. */
  readonly errorCode: number;
  readonly errorMessage: string;
}

/** DLQ messages carry at most 1 KB of the error message. */
const DLQ_ERROR_MESSAGE_BYTES = 1024;

export class Destinations {
  #targets: DestinationTargets = {};
  readonly #warned = new Set<string>();

  readonly #log: LogSink;
  /** Invokes a function asynchronously, for Lambda destinations. */
  readonly #invokeAsync: (functionArn: string, payload: string) => Promise<void>;

  constructor(log: LogSink, invokeAsync: (functionArn: string, payload: string) => Promise<void>) {
    this.#log = log;
    this.#invokeAsync = invokeAsync;
  }

  setTargets(targets: DestinationTargets): void {
    this.#targets = { ...this.#targets, ...targets };
  }

  /** Sends an invocation record to an OnSuccess / OnFailure destination. */
  async send(destinationArn: string, record: InvocationRecord): Promise<void> {
    const body = JSON.stringify(record);
    const success = record.requestContext.condition === 'Success';
    try {
      switch (arnService(destinationArn)) {
        case 'events':
          await this.#putEvent(destinationArn, record, body, success);
          return;
        case 'sqs':
          await this.#queues(destinationArn)?.send(destinationArn, body);
          return;
        case 'lambda':
          await this.#invokeAsync(destinationArn, body);
          return;
        default:
          this.#warnOnce(destinationArn, `destination type not emulated: ${destinationArn}`);
      }
    } catch (error) {
      this.#failed(destinationArn, error);
    }
  }

  /** Sends the original event to the function's dead-letter queue, with AWS's attributes. */
  async deadLetter(input: DeadLetterInput): Promise<void> {
    if (arnService(input.targetArn) !== 'sqs') {
      this.#warnOnce(input.targetArn, `dead-letter target type not emulated: ${input.targetArn}`);
      return;
    }
    try {
      await this.#queues(input.targetArn)?.send(input.targetArn, input.payload, {
        RequestID: { DataType: 'String', StringValue: input.requestId },
        ErrorCode: { DataType: 'Number', StringValue: String(input.errorCode) },
        ErrorMessage: { DataType: 'String', StringValue: truncateUtf8(input.errorMessage) },
      });
    } catch (error) {
      this.#failed(input.targetArn, error);
    }
  }

  async #putEvent(
    busArn: string,
    record: InvocationRecord,
    detail: string,
    success: boolean,
  ): Promise<void> {
    const events = this.#targets.events;
    if (!events) {
      this.#warnOnce(
        busArn,
        `no EventBridge is wired to the local Lambda; dropped a record for ${busArn}`,
      );
      return;
    }
    const result = await events.putEvents([
      {
        Source: 'lambda',
        DetailType: `Lambda Function Invocation Result - ${success ? 'Success' : 'Failure'}`,
        Detail: detail,
        Resources: [busArn, record.requestContext.functionArn],
        EventBusName: busArn,
      },
    ]);
    if (result.FailedEntryCount > 0) {
      const entry = result.Entries[0];
      this.#log.line(
        LAMBDA_LOG_SOURCE,
        `DestinationDeliveryFailures: ${busArn} refused the record of ${record.requestContext.requestId}: ${entry?.ErrorCode ?? 'error'} ${entry?.ErrorMessage ?? ''}`.trimEnd(),
      );
    }
  }

  #queues(arn: string): QueueSender | undefined {
    const queues = this.#targets.queues;
    if (!queues)
      this.#warnOnce(arn, `no SQS is wired to the local Lambda; dropped a message for ${arn}`);
    return queues;
  }

  #failed(arn: string, error: unknown): void {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.#log.line(LAMBDA_LOG_SOURCE, `DestinationDeliveryFailures: ${arn}: ${reason}`);
  }

  #warnOnce(key: string, text: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#log.line(LAMBDA_LOG_SOURCE, text);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function truncateUtf8(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= DLQ_ERROR_MESSAGE_BYTES) return text;
  // Cutting mid-character leaves a replacement char at the end; drop it.
  return bytes
    .subarray(0, DLQ_ERROR_MESSAGE_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
