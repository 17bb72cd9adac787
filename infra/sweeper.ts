/**
 * The sweeper of {@link AsyncJobs}: a function, run once a minute, that ends
 * the runs whose worker can no longer report (past deadline, silent, never
 * started). Built in the construct's own scope, so the IDs are its.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { EnvVar } from '../core/config';
import { JobsTable } from '../core/table';
import type { AsyncJobs, AsyncJobsParts } from './async-jobs';
import { acknowledge, allow } from './lambda-function';

/** How long past a run's deadline the sweeper waits for the worker to report it first. */
const SWEEP_GRACE_SECONDS = 30;

/** The sweeper and the schedule that runs it. */
export function createSweeper(
  parts: AsyncJobsParts,
  eventBus: events.IEventBus,
  workerFunction: lambda.IFunction,
): Pick<AsyncJobs, 'sweeperFunction' | 'sweepRule'> {
  const { config, scope, table } = parts;
  // A run is silent for good once no attempt can be alive: one worker timeout, plus
  // Lambda's own retry backoff (about 1 then 2 minutes) for each retry, plus a minute.
  const silentAfterSeconds =
    config.workerTimeout.toSeconds() + config.workerRetryAttempts * 180 + 60;
  const sweeperFunction = parts.createFunction({
    id: 'Sweeper',
    dir: 'sweeper',
    description: 'eventjobs: ends runs past their deadline, silent, or never started',
    memorySize: 256,
    timeout: Duration.minutes(1),
    environment: {
      ...parts.tableEnvironment(),
      [EnvVar.EventBusName]: eventBus.eventBusName,
      [EnvVar.SweepGraceSeconds]: String(SWEEP_GRACE_SECONDS),
      [EnvVar.SweepSilentAfterSeconds]: String(silentAfterSeconds),
      // By default Lambda itself has reported an invocation that never ran (EventAgeExceeded) by then.
      [EnvVar.SweepStartWindowSeconds]: String(config.sweeperStartWindow.toSeconds()),
      ...parts.limitsEnvironment(),
      // The sweep repairs the slot counters and starts the queued runs that fit, and it
      // re-drives runs with checkpoints whose worker died.
      [EnvVar.WorkerFunctionName]: workerFunction.functionName,
    },
    statements: [
      allow(['dynamodb:Query'], [`${table.tableArn}/index/${JobsTable.byActive.indexName}`]),
      allow(
        [
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:BatchGetItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
        ],
        [table.tableArn],
      ),
      allow(['events:PutEvents'], [eventBus.eventBusArn]),
      allow(['lambda:InvokeFunction'], [workerFunction.functionArn]),
    ],
    // A failed sweep is repeated by the next one a minute later; retrying it is pointless.
    options: { retryAttempts: 0 },
  });
  acknowledge(
    sweeperFunction,
    'Serverless-LambdaDLQ',
    'The sweeper runs once a minute on a schedule and keeps no state: a failed sweep is ' +
      'simply repeated by the next one, so a dead-letter queue would hold nothing useful.',
  );
  acknowledge(
    sweeperFunction.node.findChild('EventInvokeConfig'),
    'Serverless-LambdaAsyncFailureDestination',
    'Only the schedule invokes the sweeper; a failed sweep is repeated a minute later and ' +
      'carries no payload worth keeping, so there is no failure destination.',
  );
  const sweepRule = new events.Rule(scope, 'SweepRule', {
    description: 'eventjobs: runs the sweeper once a minute',
    schedule: events.Schedule.rate(Duration.minutes(1)),
    targets: [new targets.LambdaFunction(sweeperFunction, { retryAttempts: 0 })],
  });
  acknowledge(
    sweepRule,
    'Serverless-EventBusDLQ',
    'A scheduled tick that cannot be delivered is replaced by the next one a minute later; ' +
      'a dead-letter queue would only collect empty schedule events.',
  );
  return { sweeperFunction, sweepRule };
}
