import { describe, expect, it } from 'vitest';
import {
  DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS,
  HttpError,
  NotFoundError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../../../core/errors';

describe('TooManyRequestsError', () => {
  it('is a 429 with its code, message, cause and Retry-After', () => {
    // Prepare
    const cause = new Error('queue counter at its cap');

    // Act
    const error = new TooManyRequestsError('QueueFull', 'Your queue is full', {
      retryAfterSeconds: 30,
      cause,
    });

    // Assess
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({
      name: 'TooManyRequestsError',
      statusCode: 429,
      code: 'QueueFull',
      message: 'Your queue is full',
      retryAfterSeconds: 30,
      cause,
    });
  });

  it('rounds a fractional wait up, never down, and refuses one that is not finite', () => {
    // Act
    const rounded = new TooManyRequestsError('Throttled', 'busy', { retryAfterSeconds: 1.2 });
    const negative = new TooManyRequestsError('Throttled', 'busy', { retryAfterSeconds: -3 });
    const act = () =>
      new TooManyRequestsError('Throttled', 'busy', { retryAfterSeconds: Number.NaN });

    // Assess
    expect(rounded.retryAfterSeconds).toBe(2);
    expect(negative.retryAfterSeconds).toBe(0);
    expect(act).toThrow(RangeError);
  });
});

describe('ServiceUnavailableError', () => {
  it('is a 503 ServiceUnavailable that asks for a short wait unless told another', () => {
    // Act
    const plain = new ServiceUnavailableError('The job could not be started; try again later');
    const told = new ServiceUnavailableError('down', { retryAfterSeconds: 10 });

    // Assess
    expect(plain).toMatchObject({
      name: 'ServiceUnavailableError',
      statusCode: 503,
      code: 'ServiceUnavailable',
      retryAfterSeconds: DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS,
    });
    expect(DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS).toBeGreaterThanOrEqual(1);
    expect(told.retryAfterSeconds).toBe(10);
  });

  it('keeps its cause', () => {
    // Prepare
    const cause = new Error('Invoke failed');

    // Act
    const error = new ServiceUnavailableError('try again later', { cause });

    // Assess
    expect(error.cause).toBe(cause);
  });
});

describe('errors without a wait', () => {
  it('carry no Retry-After', () => {
    // Act & Assess
    expect(new NotFoundError('gone').retryAfterSeconds).toBeUndefined();
    expect(new HttpError(400, 'X', 'y').retryAfterSeconds).toBeUndefined();
  });
});
