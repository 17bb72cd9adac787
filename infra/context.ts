import { type App, Duration } from 'aws-cdk-lib';
import type { AsyncJobsProps } from 'eventjobs/cdk';
import type { EventJobsStackProps } from './eventjobs-stack';

/**
 * Optional overrides from CDK context, e.g. `cdk deploy -c workerTimeoutSeconds=5`
 * (also `workerRetryAttempts`, `workerMaxEventAgeSeconds`, `workerReservedConcurrency`,
 * `sweeperStartWindowSeconds`, the API stage's `apiRateLimit` / `apiBurstLimit`, and the
 * owner model `ownerModel` (principal or session), the fair-share limits `ownerConcurrency`, `maxQueuedPerOwner`, `queueTimeoutSeconds` and
 * `typeConcurrency`, a JSON object such as `{"sleep":2}`).
 * The end-to-end suite uses them to make the worker's timeout path quick to reach;
 * `npm run bench` raises the API's throttle so that it measures the system, not the limit.
 */
export function jobsFromContext(scope: App): Omit<AsyncJobsProps, 'jobTypes'> {
  const timeout = intContext(scope, 'workerTimeoutSeconds');
  const retries = intContext(scope, 'workerRetryAttempts');
  const maxEventAge = intContext(scope, 'workerMaxEventAgeSeconds');
  const reserved = intContext(scope, 'workerReservedConcurrency');
  const startWindow = intContext(scope, 'sweeperStartWindowSeconds');
  const rateLimit = intContext(scope, 'apiRateLimit');
  const burstLimit = intContext(scope, 'apiBurstLimit');
  const ownerConcurrency = intContext(scope, 'ownerConcurrency');
  const maxQueuedPerOwner = intContext(scope, 'maxQueuedPerOwner');
  const queueTimeout = intContext(scope, 'queueTimeoutSeconds');
  const typeConcurrency = jsonContext(scope, 'typeConcurrency');
  const ownerModel: unknown = scope.node.tryGetContext('ownerModel');
  if (ownerModel !== undefined && ownerModel !== 'principal' && ownerModel !== 'session') {
    throw new Error(
      `Context value ownerModel must be principal or session, got ${JSON.stringify(ownerModel)}`,
    );
  }
  return {
    ...(ownerModel !== undefined ? { ownerModel } : {}),
    ...(ownerConcurrency !== undefined ? { ownerConcurrency } : {}),
    ...(maxQueuedPerOwner !== undefined ? { maxQueuedPerOwner } : {}),
    ...(queueTimeout !== undefined ? { queueTimeout: Duration.seconds(queueTimeout) } : {}),
    ...(typeConcurrency !== undefined ? { typeConcurrency } : {}),
    ...(timeout !== undefined ? { workerTimeout: Duration.seconds(timeout) } : {}),
    ...(retries !== undefined ? { workerRetryAttempts: retries } : {}),
    ...(maxEventAge !== undefined ? { workerMaxEventAge: Duration.seconds(maxEventAge) } : {}),
    ...(reserved !== undefined ? { workerReservedConcurrency: reserved } : {}),
    ...(startWindow !== undefined ? { sweeperStartWindow: Duration.seconds(startWindow) } : {}),
    ...(rateLimit !== undefined || burstLimit !== undefined
      ? {
          throttling: {
            ...(rateLimit !== undefined ? { rateLimit } : {}),
            ...(burstLimit !== undefined ? { burstLimit } : {}),
          },
        }
      : {}),
  };
}

function intContext(scope: App, key: string): number | undefined {
  const raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined) return undefined;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value)) {
    throw new Error(`Context value ${key} must be a whole number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A JSON object of whole numbers from context (given on the command line as a string). */
function jsonContext(scope: App, key: string): Record<string, number> | undefined {
  const raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined) return undefined;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Error(`Context value ${key} must be a JSON object, got ${JSON.stringify(raw)}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`Context value ${key} must be a JSON object, got ${JSON.stringify(raw)}`);
  }
  const result: Record<string, number> = {};
  for (const [name, limit] of Object.entries(value)) {
    if (!Number.isInteger(limit)) {
      throw new Error(
        `Context value ${key}.${name} must be a whole number, got ${JSON.stringify(limit)}`,
      );
    }
    Object.defineProperty(result, name, { value: limit, enumerable: true });
  }
  return result;
}

/**
 * The reference app's example schedule, from context: `exampleScheduleOwner`
 * (a principal ARN; without it there is no schedule), `exampleScheduleExpression`,
 * `exampleScheduleTimezone` and `exampleScheduleSeconds`.
 */
export function exampleScheduleFromContext(scope: App): {
  exampleSchedule?: NonNullable<EventJobsStackProps['exampleSchedule']>;
} {
  const owner: unknown = scope.node.tryGetContext('exampleScheduleOwner');
  if (owner === undefined) return {};
  if (typeof owner !== 'string' || owner === '') {
    throw new Error(
      `Context value exampleScheduleOwner must be a principal ARN, got ${JSON.stringify(owner)}`,
    );
  }
  const expression: unknown = scope.node.tryGetContext('exampleScheduleExpression');
  const timezone: unknown = scope.node.tryGetContext('exampleScheduleTimezone');
  const seconds = intContext(scope, 'exampleScheduleSeconds');
  return {
    exampleSchedule: {
      owner,
      ...(typeof expression === 'string' ? { expression } : {}),
      ...(typeof timezone === 'string' ? { timezone } : {}),
      ...(seconds !== undefined ? { seconds } : {}),
    },
  };
}
