import type { BackendResponse } from './backend';

/** The local DynamoDB could not be started or its tables could not be made ready. */
export class DynamoDbSetupError extends Error {
  override readonly name: string = 'DynamoDbSetupError';
}

/** A table exists (from a data dir or an external endpoint) with another layout than the template's. */
export class TableMismatchError extends DynamoDbSetupError {
  override readonly name = 'TableMismatchError';
}

/**
 * A backend answer other than 200, kept whole so that it can be passed on to
 * the caller exactly as the backend put it.
 */
export class BackendError extends Error {
  override readonly name = 'BackendError';

  constructor(
    /** The error code without its namespace, e.g. `ConditionalCheckFailedException`. */
    readonly code: string,
    message: string,
    readonly response: BackendResponse,
    /** The parsed error body (`__type`, `message`, and e.g. `Item`). */
    readonly body: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}
