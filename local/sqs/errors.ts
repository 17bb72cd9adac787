import { randomUUID } from 'node:crypto';
import type { AwsResponse } from '../contracts';

/**
 * An SQS error as the JSON protocol puts it on the wire. SQS's JSON API is
 * "query compatible": the body's `__type` names the error shape, and the
 * `x-amzn-query-error` header carries the code the older query API used
 * (`AWS.SimpleQueueService.NonExistentQueue;Sender`). SDK v3 resolves the
 * error class from that header first and exposes it as `error.Code`.
 */
export class SqsError extends Error {
  override readonly name = 'SqsError';

  constructor(
    /** The error shape, e.g. `QueueDoesNotExist`. */
    readonly type: string,
    message: string,
    /** The query-API code, e.g. `AWS.SimpleQueueService.NonExistentQueue`; defaults to `type`. */
    readonly queryCode: string = type,
    readonly status = 400,
  ) {
    super(message);
  }

  toResponse(): AwsResponse {
    return {
      status: this.status,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': randomUUID(),
        'x-amzn-query-error': `${this.queryCode};${this.status >= 500 ? 'Receiver' : 'Sender'}`,
      },
      body: JSON.stringify({ __type: `com.amazonaws.sqs#${this.type}`, message: this.message }),
    };
  }
}

export const SqsErrors = {
  nonExistentQueue: () =>
    new SqsError(
      'QueueDoesNotExist',
      'The specified queue does not exist.',
      'AWS.SimpleQueueService.NonExistentQueue',
    ),
  missingParameter: (name: string) =>
    new SqsError('MissingParameter', `The request must contain the parameter ${name}.`),
  invalidParameterValue: (message: string) => new SqsError('InvalidParameterValue', message),
  invalidValue: (name: string, value: unknown, reason: string) =>
    new SqsError(
      'InvalidParameterValue',
      `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}.`,
    ),
  invalidReceiptHandle: (handle: string) =>
    new SqsError(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${handle}" is not a valid receipt handle.`,
      'ReceiptHandleIsInvalid',
      404,
    ),
  messageNotInflight: () =>
    new SqsError(
      'MessageNotInflight',
      'The message referred to is not in flight.',
      'AWS.SimpleQueueService.MessageNotInflight',
    ),
  emptyBatch: () =>
    new SqsError(
      'EmptyBatchRequest',
      'There should be at least one SendMessageBatchRequestEntry in the request.',
      'AWS.SimpleQueueService.EmptyBatchRequest',
    ),
  tooManyEntries: (count: number) =>
    new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${count}.`,
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    ),
  idsNotDistinct: (id: string) =>
    new SqsError(
      'BatchEntryIdsNotDistinct',
      `Id ${id} repeated.`,
      'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
    ),
  invalidBatchEntryId: () =>
    new SqsError(
      'InvalidBatchEntryId',
      'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      'AWS.SimpleQueueService.InvalidBatchEntryId',
    ),
  batchTooLong: (bytes: number, limit: number) =>
    new SqsError(
      'BatchRequestTooLong',
      `Batch requests cannot be longer than ${limit} bytes. You have sent ${bytes} bytes.`,
      'AWS.SimpleQueueService.BatchRequestTooLong',
    ),
  invalidMessageContents: () =>
    new SqsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
      'InvalidMessageContents',
    ),
  invalidAttributeName: (name: string) =>
    new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`, 'InvalidAttributeName'),
  unsupportedOperation: (operation: string) =>
    new SqsError(
      'UnsupportedOperation',
      `The local SQS does not support ${operation}.`,
      'AWS.SimpleQueueService.UnsupportedOperation',
    ),
} as const;
