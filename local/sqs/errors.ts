import { AwsJsonError, type AwsJsonProtocol } from '../aws-json';

/**
 * An SQS error as the JSON protocol puts it on the wire. SQS's JSON API is
 * "query compatible": the body's `__type` names the error shape, and the
 * `x-amzn-query-error` header carries the code the older query API used
 * (`AWS.SimpleQueueService.NonExistentQueue;Sender`). SDK v3 resolves the
 * error class from that header first and exposes it as `error.Code`.
 */
export class SqsError extends AwsJsonError {
  override readonly name = 'SqsError';
  /** The query-API code, e.g. `AWS.SimpleQueueService.NonExistentQueue`; defaults to the shape's. */
  readonly queryCode: string;

  /** `type` is the error shape, e.g. `QueueDoesNotExist`. */
  constructor(type: string, message: string, queryCode: string = type, status = 400) {
    super(type, message, status);
    this.queryCode = queryCode;
  }
}

/** SQS's dialect: JSON 1.0, `__type` in SQS's namespace, and the query API's code in a header. */
export const SQS_PROTOCOL: AwsJsonProtocol = {
  version: '1.0',
  targetPrefix: 'AmazonSQS.',
  errors: {
    typePrefix: 'com.amazonaws.sqs#',
    headers: (error: AwsJsonError) => ({
      'x-amzn-query-error': `${error instanceof SqsError ? error.queryCode : error.code};${error.status >= 500 ? 'Receiver' : 'Sender'}`,
    }),
  },
};

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
