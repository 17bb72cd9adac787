import { type App, Duration } from 'aws-cdk-lib';
import type { AsyncJobsProps } from 'eventjobs/cdk';

/**
 * Optional overrides from CDK context, e.g. `cdk deploy -c workerTimeoutSeconds=5`
 * (also `workerRetryAttempts`, `workerMaxEventAgeSeconds`, `workerReservedConcurrency`,
 * `sweeperStartWindowSeconds`, and the API stage's `apiRateLimit` / `apiBurstLimit`).
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
  return {
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
