import { AppError } from '../../core/errors';
import type { StreamErrorCode } from './messages';

/** A subscribe request the stream refuses; the client gets `{"type":"error","code","message"}`. */
export class StreamRequestError extends AppError {
  readonly code: StreamErrorCode;

  constructor(code: StreamErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The @connections API says the connection is gone (410): the client has left. */
export class GoneConnectionError extends AppError {
  readonly connectionId: string;

  constructor(connectionId: string, options?: ErrorOptions) {
    super(`Connection ${connectionId} is gone`, options);
    this.connectionId = connectionId;
  }
}

/** The @connections API refused a call, or could not be reached. */
export class ManagementApiError extends AppError {
  /** The HTTP status, or 0 when no response came back. */
  readonly statusCode: number;

  constructor(statusCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
  }
}

/** Some subscribers could not be reached for a reason other than having left; Lambda retries. */
export class DeliveryError extends AppError {}
