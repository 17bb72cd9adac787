import { App, Duration } from 'aws-cdk-lib';
import type { AsyncJobsProps } from './async-jobs';
import { EventJobsStack } from './eventjobs-stack';
import { addNagPacks } from './nag';

/** The CDK app that `cdk synth` / `cdk deploy` run (see cdk.json). */
const app = new App();
new EventJobsStack(app, 'EventJobs', {
  description: 'eventjobs: event-based asynchronous job management',
  jobs: jobsFromContext(app),
});
addNagPacks(app);
app.synth();

/**
 * Optional overrides from CDK context, e.g. `cdk deploy -c workerTimeoutSeconds=5`
 * (also `workerRetryAttempts`, `workerMaxEventAgeSeconds`, `workerReservedConcurrency`,
 * `sweeperStartWindowSeconds`).
 * The end-to-end suite uses them to make the worker's timeout path quick to reach.
 */
function jobsFromContext(scope: App): AsyncJobsProps {
  const timeout = intContext(scope, 'workerTimeoutSeconds');
  const retries = intContext(scope, 'workerRetryAttempts');
  const maxEventAge = intContext(scope, 'workerMaxEventAgeSeconds');
  const reserved = intContext(scope, 'workerReservedConcurrency');
  const startWindow = intContext(scope, 'sweeperStartWindowSeconds');
  return {
    ...(timeout !== undefined ? { workerTimeout: Duration.seconds(timeout) } : {}),
    ...(retries !== undefined ? { workerRetryAttempts: retries } : {}),
    ...(maxEventAge !== undefined ? { workerMaxEventAge: Duration.seconds(maxEventAge) } : {}),
    ...(reserved !== undefined ? { workerReservedConcurrency: reserved } : {}),
    ...(startWindow !== undefined ? { sweeperStartWindow: Duration.seconds(startWindow) } : {}),
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
